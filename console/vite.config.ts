import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Served by the API at /console (app/console.py); assets get content-hashed names.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
