import type { Obj, SimCluster } from '../cluster.js';
import { HttpError, type Route } from '../http.js';
import { inNamespace, list, one } from '../list.js';
import { checkFields } from '../validation.js';

/** A core/v1 Event as events.k8s.io/v1 shows it. */
function toEventsV1(e: Obj): Obj {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: e.metadata,
    eventTime: e.eventTime ?? null,
    reportingController: e.reportingComponent || e.source?.component,
    reportingInstance: e.reportingInstance ?? '',
    ...(e.action ? { action: e.action } : {}),
    reason: e.reason,
    regarding: e.involvedObject,
    note: e.message,
    type: e.type,
    deprecatedSource: e.source,
    deprecatedFirstTimestamp: e.firstTimestamp,
    deprecatedLastTimestamp: e.lastTimestamp,
    deprecatedCount: e.count,
  };
}

/** An events.k8s.io/v1 Event as the core/v1 Event the store keeps. */
function fromEventsV1(e: Obj): Obj {
  return {
    metadata: e.metadata,
    involvedObject: e.regarding,
    reason: e.reason,
    message: e.note,
    type: e.type,
    ...(e.action ? { action: e.action } : {}),
    eventTime: e.eventTime,
    source: { component: e.reportingController },
    reportingComponent: e.reportingController,
    reportingInstance: e.reportingInstance,
    firstTimestamp: e.eventTime,
    lastTimestamp: e.eventTime,
    count: 1,
  };
}

function createEvent(c: SimCluster, namespace: string, event: Obj | undefined): Obj {
  if (!event?.involvedObject?.name)
    throw new HttpError(422, 'Invalid', 'Event is invalid: involvedObject.name: Required value');
  if (!event.reason)
    throw new HttpError(422, 'Invalid', 'Event is invalid: reason: Required value');
  if (event.involvedObject.namespace && event.involvedObject.namespace !== namespace) {
    throw new HttpError(
      422,
      'Invalid',
      `Event is invalid: involvedObject.namespace: Invalid value: "${event.involvedObject.namespace}": does not match event.namespace`,
    );
  }
  if (event.metadata?.name && c.events.has(`${namespace}/${event.metadata.name}`))
    throw new HttpError(409, 'AlreadyExists', `events "${event.metadata.name}" already exists`);
  return c.storeEvent({ ...event, metadata: { ...event.metadata, namespace } });
}

/** Routes of Events, core/v1 and events.k8s.io/v1 (one store, two shapes). */
export const EVENTS_ROUTES: Route[] = [
  ['GET', /^\/api\/v1\/events$/, (c, r) => list('Event', 'v1', [...c.events.values()], c, r)],
  [
    'GET',
    /^\/api\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) => list('Event', 'v1', inNamespace(c.events.values(), r.params[0]), c, r),
  ],
  [
    'GET',
    /^\/api\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/,
    (c, r) => one(c.events.get(`${r.params[0]}/${r.params[1]}`), 'Event', r.params[1]!, r),
  ],
  [
    'POST',
    /^\/api\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) => {
      checkFields(r, 'v1', 'Event', r.body);
      return createEvent(c, r.params[0]!, r.body);
    },
  ],
  [
    'GET',
    /^\/apis\/events.k8s.io\/v1\/events$/,
    (c, r) => list('Event', 'events.k8s.io/v1', [...c.events.values()].map(toEventsV1), c, r),
  ],
  [
    'GET',
    /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) =>
      list(
        'Event',
        'events.k8s.io/v1',
        inNamespace(c.events.values(), r.params[0]).map(toEventsV1),
        c,
        r,
      ),
  ],
  [
    'GET',
    /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/,
    (c, r) => {
      const e = c.events.get(`${r.params[0]}/${r.params[1]}`);
      return one(e && toEventsV1(e), 'Event', r.params[1]!, r, 'events.events.k8s.io');
    },
  ],
  [
    'POST',
    /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) => {
      checkFields(r, 'events.k8s.io/v1', 'Event', r.body);
      if (!r.body?.regarding?.name)
        throw new HttpError(
          422,
          'Invalid',
          'Event.events.k8s.io is invalid: regarding.name: Required value',
        );
      if (!r.body.eventTime)
        throw new HttpError(
          422,
          'Invalid',
          'Event.events.k8s.io is invalid: eventTime: Required value',
        );
      return toEventsV1(createEvent(c, r.params[0]!, fromEventsV1(r.body)));
    },
  ],
];
