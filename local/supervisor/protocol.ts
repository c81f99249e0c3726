/**
 * The wire format between the Worker's `local` compute provider and the local supervisor
 * (`npm start`, end-to-end tests). It mirrors what the pool needs from Railway: create a
 * service with its variables, list services with their deployment state, delete one.
 *
 *   POST   /services          {name, instanceId, variables, image?}  → 201 Service
 *          (`image` is the runtime version label: the runtime starts with RUNTIME_VERSION=image
 *          and reports it in /pool/health, as a Railway instance reports its image's version)
 *   GET    /services                                          → 200 {services: Service[]}
 *   DELETE /services/:id                                      → 204 (404 when unknown)
 *   POST   /services/:id/restart  {keepVolume}                → 200 Service (an operator's
 *          container restart: with its state directory, or blank; the pool never calls it)
 *   POST   /services/:id/redeploy {image}                    → 200 Service (an upgrade or its
 *          rollback: the same service restarted on another image, with its state directory)
 *
 * Every call carries `Authorization: Bearer <LOCAL_SUPERVISOR_TOKEN>`.
 */
export type LocalServiceStatus = "starting" | "running" | "exited" | "failed";

export interface LocalService {
  id: string;
  name: string;
  url: string;
  status: LocalServiceStatus;
}

export interface CreateServiceRequest {
  name: string;
  instanceId: string;
  variables: Record<string, string>;
  image?: string;
}

/** A local "image": a runtime version label (RUNTIME_VERSION), never a path or a command. */
export const LOCAL_IMAGE = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/;
