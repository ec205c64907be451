import { ApiError, api } from '../api.js';
import { Loaded, PageTitle, useApi, When } from '../components.js';
import { useEffect, useState } from 'preact/hooks';
import type { Problem } from '../lib/problems.js';
import { href, type TimelineEntity } from '../lib/route.js';
import { changesOf, describeAction, type AuditEvent } from '../lib/timeline.js';
import { toProblem } from '../components.js';

const NAMES: Record<TimelineEntity, string> = {
  organizations: 'organization',
  'mail-servers': 'mail server',
  domains: 'domain',
  exceptions: 'exception',
};

/**
 * The history route of the entity; where this server has none yet (404 from
 * the router, not for the entity), the audit log filtered to the entity,
 * which auditors and admins may read.
 */
async function loadHistory(entity: TimelineEntity, id: string): Promise<{ events: AuditEvent[]; source: string }> {
  try {
    const answer = await api<AuditEvent[] | { items: AuditEvent[] }>('GET', `/v1/${entity}/${id}/history`, undefined, { quiet404: true });
    return { events: Array.isArray(answer) ? answer : answer.items, source: 'history' };
  } catch (error) {
    const routeMissing = error instanceof ApiError && error.problem.status === 404 && /Cannot GET|route/i.test(`${error.problem.detail ?? ''} ${error.problem.title}`);
    if (!routeMissing) throw error;
  }
  const page = await api<{ items: AuditEvent[] }>('GET', `/v1/audit-events?entityId=${id}&limit=200`);
  return { events: [...page.items].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt)), source: 'audit log' };
}

export function Timeline({ entity, id }: { entity: TimelineEntity; id: string }) {
  const [state, setState] = useState<{ data?: { events: AuditEvent[]; source: string }; error?: Problem; loading: boolean }>({ loading: true });
  useEffect(() => {
    let live = true;
    loadHistory(entity, id).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => {
        if (!live) return;
        const problem = toProblem(error);
        setState({
          error:
            problem.status === 403
              ? { ...problem, detail: `This server has no timeline route for a ${NAMES[entity]} yet, and the audit log is open to auditors and admins only.` }
              : problem,
          loading: false,
        });
      },
    );
    return () => {
      live = false;
    };
  }, [entity, id]);
  return (
    <Loaded state={state} what="the timeline">
      {({ events }) =>
        events.length === 0 ? (
          <p>No event recorded.</p>
        ) : (
          <ol class="timeline">
            {events.map((event) => {
              const changes = changesOf(event);
              return (
                <li key={event.id}>
                  <p>
                    <When at={event.occurredAt} /> — <strong>{describeAction(event.action)}</strong> by {event.actor.owner ?? event.actor.name} ({event.actor.role})
                  </p>
                  {changes.length ? (
                    <table class="changes">
                      <caption class="visually-hidden">What changed</caption>
                      <thead>
                        <tr>
                          <th scope="col">Field</th>
                          <th scope="col">Before</th>
                          <th scope="col">After</th>
                        </tr>
                      </thead>
                      <tbody>
                        {changes.map((change) => (
                          <tr key={change.field}>
                            <th scope="row">{change.field}</th>
                            <td>{change.before}</td>
                            <td>{change.after}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : null}
                </li>
              );
            })}
          </ol>
        )
      }
    </Loaded>
  );
}

export function TimelinePage({ entity, id }: { entity: TimelineEntity; id: string }) {
  const back = entity === 'organizations' ? href({ page: 'organization', id }) : entity === 'mail-servers' ? href({ page: 'mail-server', id }) : entity === 'exceptions' ? href({ page: 'exception', id }) : undefined;
  const title = useApi<{ name?: string; heloHostname?: string }>(entity === 'exceptions' ? null : `/v1/${entity}/${id}`);
  const label = title.data?.name ?? title.data?.heloHostname ?? id;
  return (
    <>
      <PageTitle>
        Timeline of {NAMES[entity]} {label}
      </PageTitle>
      {back ? (
        <p>
          <a href={back}>Back to the {NAMES[entity]}</a>
        </p>
      ) : null}
      <Timeline entity={entity} id={id} />
    </>
  );
}
