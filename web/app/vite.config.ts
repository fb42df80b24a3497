// The app's build: Vite bundles src/ into dist/ (content-hashed files under dist/assets),
// which every node serves at GET / (node/rpc/webapp.py). JSX is Preact's.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  server: {
    // `npm run dev` against a devnet node: the node answers JSON-RPC and the WebSocket.
    proxy: {
      "/ws": { target: "ws://127.0.0.1:27100", ws: true },
    },
  },
});
