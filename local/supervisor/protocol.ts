/**
 * The wire format between the Worker's `local` compute provider and the local supervisor
 * (`npm start`, end-to-end tests). It mirrors what the pool needs from Railway: create a
 * service with its variables, list services with their deployment state, delete one.
 *
 *   POST   /services          {name, instanceId, variables}  → 201 Service
 *   GET    /services                                          → 200 {services: Service[]}
 *   DELETE /services/:id                                      → 204 (404 when unknown)
 *   POST   /services/:id/restart  {keepVolume}                → 200 Service (an operator's
 *          container restart: with its state directory, or blank; the pool never calls it)
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
}
