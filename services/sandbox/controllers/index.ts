// Every simulated controller of the sandbox, started together over one store.
import type { Controller, ControllerContext } from './base.js';
import { CronJobController } from './cronjob.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { JobController } from './job.js';
import { ReplicaSetController } from './replicaset.js';
import { StatefulSetController } from './statefulset.js';
import { EndpointsController } from './endpoints.js';
import { GarbageCollector } from './garbage-collector.js';
import { HorizontalPodAutoscalerController } from './hpa.js';
import { Kubelet } from './kubelet.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { PvcBinder } from './pvc-binder.js';
import { Scheduler } from './scheduler.js';

export interface ControllerOptions {
  /** The wall clock CronJobs follow; tests move it forward instead of waiting for a schedule. */
  now?: () => Date;
}

export function startControllers(ctx: ControllerContext, opts: ControllerOptions = {}): Controller[] {
  const controllers: Controller[] = [
    new NodeLifecycleController(ctx),
    new NamespaceController(ctx),
    new Scheduler(ctx),
    new Kubelet(ctx),
    new EndpointsController(ctx),
    new GarbageCollector(ctx),
    new PvcBinder(ctx),
    new DeploymentController(ctx),
    new ReplicaSetController(ctx),
    new StatefulSetController(ctx),
    new DaemonSetController(ctx),
    new JobController(ctx),
    new CronJobController(ctx, { now: opts.now }),
    new HorizontalPodAutoscalerController(ctx),
  ];
  for (const c of controllers) c.start();
  return controllers;
}
