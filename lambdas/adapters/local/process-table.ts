import { execFile } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * This machine's process table, read from /proc and `ss`: what the CLI checks about `--pid` before a
 * local run starts. (On an SSM target the probe reports the same relation, and the executor refuses
 * to stop a process that does not own the port's listener: see `targetProcess`.)
 */

const run = promisify(execFile);

/** Fields of /proc/PID/stat after "pid (comm) ", by their 1-based field number; null when gone. */
async function statFields(pid: number): Promise<string[] | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return ["", "", "", ...stat.slice(stat.lastIndexOf(")") + 2).split(" ")];
  } catch {
    return null;
  }
}

/** Parent PID, or null when the process is gone. */
export async function parentOf(pid: number): Promise<number | null> {
  const f = await statFields(pid);
  return f ? Number(f[4]) : null;
}

/** This process and its ancestors up to PID 1: the runbook never acts on its own process tree. */
export async function ownProcessTree(self = process.pid): Promise<number[]> {
  const tree: number[] = [];
  for (let p: number | null = self; p && !tree.includes(p); p = await parentOf(p)) {
    tree.push(p);
    if (p === 1) break;
  }
  return tree;
}

async function ss(args: string[]): Promise<string> {
  try {
    return (await run("ss", args, { encoding: "utf8", timeout: 10_000 })).stdout;
  } catch {
    return "";
  }
}

/**
 * Why `--pid PID` may not be used with `--port PORT` on this machine, or null when it may: the PID
 * must own the port's LISTEN socket, or be the child of its owner (a launcher that opened the port
 * and started the JVM; PID 1 as that owner does not count). Never PID 1, never this run's own tree.
 */
export async function pidRefusal(pid: number, port: number): Promise<string | null> {
  if (pid === 1) return "PID 1 is the init process: the runbook never acts on it";
  if ((await ownProcessTree()).includes(pid)) {
    return `PID ${pid} is this runbook's own process or one of its ancestors`;
  }
  const ppid = await parentOf(pid);
  if (ppid === null) return `no process has PID ${pid}`;
  const listeners = await ss(["-ltnpeH", `( sport = :${port} )`]);
  if (!listeners.trim()) {
    return `nothing listens on port ${port}, so PID ${pid} cannot be its listener (leave out --pid to diagnose a port nobody listens on)`;
  }
  const owners = [...new Set([...listeners.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
  if (owners.includes(pid)) return null;
  if (ppid !== 1 && owners.includes(ppid)) return null;
  if (owners.length) {
    return `PID ${pid} does not own the listener of port ${port} (PID ${owners.join(", ")} does; nor is it that process's child)`;
  }
  // ss hides the owner from a non-root user: compare the socket inode with the process's own fds.
  const inodes = [...listeners.matchAll(/ino:(\d+)/g)].map((m) => `socket:[${m[1]}]`);
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => null);
  if (!fds) {
    return `cannot tell whether PID ${pid} owns the listener of port ${port}: its open files are not readable by this user (run as root or as the JVM's user)`;
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (inodes.includes(target)) return null;
  }
  return `PID ${pid} does not own the listener of port ${port}`;
}
