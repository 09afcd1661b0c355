import { defineConfig } from "vite";

// The production build is plain static files (dist/), served from any path.
export default defineConfig({
  base: "./",
  build: { target: "es2022", sourcemap: true },
});
