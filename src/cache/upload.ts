/**
 * Writing a step's entry after it succeeded: blobs first (those the registry has are not sent
 * again), the signed manifest last, so a reader never sees an entry whose blobs are missing. A
 * failure is returned for a warning; it never fails the step.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Project, Step } from '../core/model.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { PodmanSession } from '../executors/podman/podman.js';
import { cacheStagingDir, stepLogFile } from '../state/layout.js';
import type { StepRecord } from '../state/record.js';
import { CONFIG_TYPE, entryRecord, fileLayer, IMAGE_TYPE, LOG_TYPE, TITLE } from './entry.js';
import type { CacheConfig } from './settings.js';
import { signEntry } from './sign.js';
import type { BlobRef, CacheEntry, CacheStore, Digest } from './store.js';

async function describeFile(file: string, mediaType: string, title: string): Promise<BlobRef> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return {
    digest: `sha256:${hash.digest('hex')}` as Digest,
    size: statSync(file).size,
    mediaType,
    annotations: { [TITLE]: title },
  };
}

export interface Uploaded {
  readonly bytes: number;
  readonly blobs: number;
}

export async function uploadEntry(options: {
  readonly store: CacheStore;
  readonly config: CacheConfig;
  readonly step: Step;
  readonly project: Project;
  readonly record: StepRecord;
  readonly writer: string;
  readonly signal: AbortSignal;
}): Promise<Result<Uploaded>> {
  const { store, config, step, project, record, signal } = options;
  const key = config.signingKey;
  if (!key) return failWith({ reason: 'bad-cache-key', message: 'no signing key' });
  const staging = `${cacheStagingDir(project.stateDir, step.id)}-up`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const blobs: { blob: BlobRef; file: string }[] = [];
    for (const file of record.outputs.files) {
      blobs.push({ blob: fileLayer(file), file: resolve(project.dir, file.path) });
    }
    const log = stepLogFile(project.stateDir, step.id);
    if (existsSync(log)) blobs.push({ blob: await describeFile(log, LOG_TYPE, 'log'), file: log });
    if (step.kind === 'stash') {
      const archive = join(staging, 'image.oci.tar');
      const session = new PodmanSession({
        settings: project.podman,
        cwd: project.dir,
        signal,
        step: step.id,
      });
      const image = record.outputs.data.image ?? '';
      const saved = await session.exec([
        'save',
        '--quiet',
        '--format',
        'oci-archive',
        '--output',
        archive,
        image,
      ]);
      if (!saved.ok) return saved;
      blobs.push({ blob: await describeFile(archive, IMAGE_TYPE, image), file: archive });
    }
    const configFile = join(staging, 'config.json');
    await writeFile(configFile, JSON.stringify(entryRecord({ step, record, writer: options.writer })));
    const configBlob = await describeFile(configFile, CONFIG_TYPE, 'record');
    let bytes = 0;
    for (const { blob, file } of [...blobs, { blob: configBlob, file: configFile }]) {
      const has = await store.hasBlob({ digest: blob.digest, signal });
      if (!has.ok) return has;
      if (has.value) continue;
      const pushed = await store.pushBlob({ blob, file, signal });
      if (!pushed.ok) return pushed;
      bytes += blob.size;
    }
    const unsigned = { key: record.hash, config: configBlob, layers: blobs.map((b) => b.blob) };
    const entry: CacheEntry = {
      ...unsigned,
      signatures: { [key.name]: signEntry(unsigned, key) },
      annotations: { 'dev.kiwibox.step': step.id, 'dev.kiwibox.kind': step.kind },
    };
    const written = await store.writeEntry({ namespace: config.writeNamespace, entry, signal });
    return written.ok ? ok({ bytes, blobs: blobs.length + 1 }) : written;
  } catch (error) {
    return failWith({ reason: 'cache-io', message: `uploading ${step.id}: ${errorMessage(error)}` });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
