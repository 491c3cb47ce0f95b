import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ArtifactStore, StoredArtifact } from "../../ports/index.js";

/** Artifacts as files under one folder (locally: the incidents folder). */
export class FolderArtifactStore implements ArtifactStore {
  private readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<StoredArtifact> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return {
      key,
      uri: pathToFileURL(path).href,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes: bytes.length,
      contentType,
    };
  }

  async get(key: string): Promise<string | null> {
    try {
      return await readFile(this.pathOf(key), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  /** Reads a `file://` URI this store wrote (under its folder); any other URI is refused. */
  async getUri(uri: string): Promise<string | null> {
    if (!uri.startsWith("file://")) throw new Error(`not a file:// URI: ${uri}`);
    const path = fileURLToPath(uri);
    if (!path.startsWith(this.root + sep)) throw new Error(`URI outside the artifact folder: ${uri}`);
    return this.get(path.slice(this.root.length + 1));
  }

  /** Keys are relative paths; one that would leave the root is refused. */
  private pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new Error(`artifact key leaves the store: ${key}`);
    return path;
  }
}
