/**
 * Thin promise wrappers over the callback `node:fs` API working on raw
 * descriptors (cheaper than `FileHandle`, and `O_PATH` descriptors cannot be
 * used with most `FileHandle` methods anyway).
 */
import * as fs from "node:fs";

export const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY, O_NOCTTY } =
  fs.constants;

/**
 * Linux `O_PATH` (generic value, x86/ARM/RISC-V/PowerPC/s390). An `O_PATH`
 * open never runs a device's or FIFO's open routine and never reads data, so a
 * path can be pinned and checked before anything is really opened. `create`
 * probes that the kernel honours it (a read on such a descriptor fails EBADF).
 */
export const O_PATH = 0o10000000;

/** `/proc/self/fd/<fd>`: names exactly the object a descriptor holds, whatever its path string now names. */
export function procPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

export function openFd(path: string, flags: number, mode = 0o666): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => {
    fs.close(fd, () => resolve());
  });
}

export function fstatFd(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st)));
  });
}

export function lstatPath(path: string): Promise<fs.Stats> {
  return new Promise((resolve, reject) => {
    fs.lstat(path, (err, st) => (err ? reject(err) : resolve(st)));
  });
}

/** The real path of what a descriptor holds, as bytes (it need not be valid UTF-8). */
export function fdRealPath(fd: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fs.readlink(procPath(fd), { encoding: "buffer" }, (err, buf) => (err ? reject(err) : resolve(buf)));
  });
}

export function readlinkPath(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    fs.readlink(path, (err, s) => (err ? reject(err) : resolve(s)));
  });
}

export function readFd(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

export async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.write(fd, data, off, data.length - off, null, (err, written) => (err ? reject(err) : resolve(written)));
    });
    off += n;
  }
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

export function fchmodFd(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fchmod(fd, mode, (err) => (err ? reject(err) : resolve()));
  });
}

export function renamePath(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.rename(from, to, (err) => (err ? reject(err) : resolve()));
  });
}

export function unlinkPath(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.unlink(path, (err) => (err ? reject(err) : resolve()));
  });
}

export function mkdirPath(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.mkdir(path, 0o777, (err) => (err ? reject(err) : resolve()));
  });
}

export function readdirPath(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    fs.readdir(path, (err, names) => (err ? reject(err) : resolve(names)));
  });
}

/** The `code` of a Node system error (`"ENOENT"`, …), or `undefined`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const c = (err as { code: unknown }).code;
    return typeof c === "string" ? c : undefined;
  }
  return undefined;
}
