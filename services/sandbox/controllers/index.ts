// Every simulated controller of the sandbox, started together over one store.
import type { Controller, ControllerContext } from './base.js';

export function startControllers(ctx: ControllerContext): Controller[] {
  const controllers: Controller[] = [];
  for (const c of controllers) c.start();
  return controllers;
}
