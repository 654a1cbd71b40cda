/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The parley server refuses state-changing requests whose Origin is not its own, and in local
// mode serves only local Host names; the dev proxy therefore presents itself as the server.
const target = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';

const proxy = {
  target,
  changeOrigin: true, // Host: the target's
  configure(p: { on(event: 'proxyReq', cb: (req: { setHeader(n: string, v: string): void; getHeader(n: string): unknown }) => void): void }) {
    p.on('proxyReq', (req) => {
      if (req.getHeader('origin')) req.setHeader('origin', target);
    });
  },
};

// Every browser the UI supports reads woff2: KaTeX's woff and ttf copies would only make the
// binary (which embeds dist/) larger.
const katexWoff2Only = {
  name: 'katex-woff2-only',
  enforce: 'pre' as const,
  transform(code: string, id: string) {
    if (!/katex(\.min)?\.css$/.test(id.split('?')[0] ?? '')) return null;
    return code.replace(/,\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)/g, '');
  },
};

export default defineConfig({
  base: '/',
  plugins: [katexWoff2Only],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // KaTeX's fonts are small; inlining none keeps every asset a hashed file under assets/.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    proxy: { '/api': proxy, '/v1': proxy },
  },
  // `npm run preview` serves dist/ under the server's Content-Security-Policy (the contract's),
  // so a build that needs an inline script or eval shows its violations in the browser console.
  preview: {
    port: 4173,
    proxy: { '/api': proxy, '/v1': proxy },
    headers: {
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
