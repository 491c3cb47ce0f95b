import { config } from "zod";

/**
 * No zod JIT in a one-shot command: it parses each document once, so the JIT that compiles each object
 * schema into a function costs more than it saves (~20 ms of the ~50 after the probe in `diagnose`,
 * docs/benchmarks.md). Must run before any schema exists (zod decides at construction). Its own module,
 * imported by name: a dynamic `import("zod")` would keep zod's whole namespace, all its locales included,
 * in the CLI bundle (~260 KB).
 */
config({ jitless: true });
