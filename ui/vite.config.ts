import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The bundle is embedded in the Tauri binary and loaded from tauri://localhost: no dev server in
// production, no source maps shipped, one predictable chunk layout.
export default defineConfig({
  plugins: [preact()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
  },
});
