// Loopback calls from the front server to the convos plugin's routes inside the gateway.
export type PluginReply<T = unknown> = { status: number; body: T };

export class PluginClient {
  readonly baseUrl: () => string;
  readonly token: string;
  constructor(baseUrl: () => string, token: string) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  async call<T = unknown>(method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 5000): Promise<PluginReply<T>> {
    const res = await fetch(`${this.baseUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { error: { code: "bad_gateway_response", message: `gateway answered ${res.status} with non-JSON` } };
    }
    return { status: res.status, body: parsed as T };
  }
}
