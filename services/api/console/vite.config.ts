import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The operator console: built into console/dist (git-ignored), served by the API under /console/.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline scripts or styles: the API's Content-Security-Policy is default-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
