// Reverse proxy to the loopback gateway for everything the front server does not answer
// itself: plain HTTP streamed both ways, and WebSocket upgrades spliced at the socket level.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

function forwardedHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  // The gateway sees every request from 127.0.0.1 and trusts 127.0.0.1 as a proxy: tell it
  // who the client really is so public traffic is never mistaken for local traffic. A client
  // on this machine stays unmarked, which is the truth (OpenClaw rejects a "forwarded"
  // request whose client is loopback as unattributable).
  const client = req.socket.remoteAddress ?? "";
  const prior = req.headers["x-forwarded-for"];
  const loopback = client === "::1" || client.startsWith("127.") || client.startsWith("::ffff:127.");
  if (loopback && !prior) return headers;
  headers["x-forwarded-for"] = prior ? `${prior}, ${client}` : client;
  headers["x-forwarded-proto"] ??= "http";
  return headers;
}

function badGateway(res: ServerResponse, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: "gateway_unavailable", message } });
  res.writeHead(502, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function proxyHttp(req: IncomingMessage, res: ServerResponse, target: { host: string; port: number }): void {
  const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: forwardedHeaders(req) }, (upRes) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upRes.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    res.writeHead(upRes.statusCode ?? 502, headers);
    upRes.pipe(res);
  });
  upstream.on("error", (err) => badGateway(res, `gateway unreachable: ${err.message}`));
  res.on("close", () => upstream.destroy());
  req.pipe(upstream);
}

export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: { host: string; port: number }): void {
  const upstream = net.connect(target.port, target.host);
  const fail = () => {
    if (!socket.destroyed) socket.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    upstream.destroy();
  };
  upstream.once("error", fail);
  socket.on("error", () => upstream.destroy());
  upstream.once("connect", () => {
    upstream.off("error", fail);
    upstream.on("error", () => socket.destroy());
    const headers = forwardedHeaders(req);
    // The upgrade handshake needs its hop-by-hop headers back.
    headers.connection = req.headers.connection ?? "Upgrade";
    headers.upgrade = req.headers.upgrade ?? "websocket";
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
    }
    upstream.write(lines.join("\r\n") + "\r\n\r\n");
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
}
