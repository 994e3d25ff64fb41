import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The playground: static pages built into ui/dist, served at /ui/ by the api (embedded
// mode) and by the ui container behind nginx. Relative asset URLs (`base: './'`) keep it
// working under any prefix.
const api = process.env.LLM_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: __dirname,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        index: resolve(__dirname, 'index.html'),
        admin: resolve(__dirname, 'admin.html'),
        embeddings: resolve(__dirname, 'embeddings.html'),
      },
    },
  },
  // `npm run ui:dev`: pages at the dev server's root, the API proxied to a running server.
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/admin', '/docs', '/healthz'].map((p) => [p, { target: api, changeOrigin: true }]),
    ),
  },
});
