// Development: Vite serves the app with HMR and proxies the API and WebSockets to Daphne,
// as in the seeds' ADR-0031 development mode.
import { defineConfig } from "vite";

const daphne = `http://127.0.0.1:${process.env.DAPHNE_PORT || 8000}`;

export default defineConfig({
  server: {
    host: "127.0.0.1",
    port: Number(process.env.VITE_PORT || 5173),
    strictPort: true,
    proxy: {
      "/api": daphne,
      "/ws": { target: daphne, ws: true },
    },
  },
});
