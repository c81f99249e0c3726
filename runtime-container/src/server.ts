// The public listener on $PORT: /pool/* is answered here, everything else goes to the gateway.
import http from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import { proxyHttp, proxyUpgrade } from "./proxy.ts";

export function createFrontServer(app: Hono<never>, gateway: () => { host: string; port: number }): http.Server {
  const handleApp = getRequestListener(app.fetch);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/pool" || path.startsWith("/pool/")) return void handleApp(req, res);
    proxyHttp(req, res, gateway());
  });
  server.on("upgrade", (req, socket, head) => {
    if ((req.url ?? "").startsWith("/pool")) return void socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    proxyUpgrade(req, socket, head, gateway());
  });
  // Provision can legitimately take over a minute (join waits for the creator to accept).
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  return server;
}
