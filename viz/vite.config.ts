import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** Builds the live map page into viz/dist (served by the map server; `npm run build:viz`). */
export default defineConfig({
  root: resolve(import.meta.dirname),
  base: '/',
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
  },
  worker: { format: 'es' },
  logLevel: 'warn',
});
