// The stand-in gateway's WebSocket echo needs only this much of `ws` (no @types/ws installed).
declare module "ws" {
  import type { Server } from "node:http";
  import type { EventEmitter } from "node:events";
  export class WebSocket extends EventEmitter {
    send(data: unknown, opts?: { binary?: boolean }): void;
    terminate(): void;
    on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  }
  export class WebSocketServer extends EventEmitter {
    constructor(opts: { server: Server });
    clients: Set<WebSocket>;
    on(event: "connection", listener: (ws: WebSocket) => void): this;
  }
}
