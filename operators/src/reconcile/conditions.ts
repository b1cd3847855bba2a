import type { ConditionStatus, OwnerReference, ObjectMeta } from '../../../contracts/kubernetes/v1alpha1.js';

/** metav1.Time: RFC 3339 with second precision (the API server drops fractions on this type). */
export function metaTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Upserts a condition the way meta.SetStatusCondition does: lastTransitionTime moves only when the status
 * flips, so "how long has it been not ready" stays answerable from the object.
 */
export function setCondition(
  conditions: readonly ConditionStatus[] | undefined,
  next: Omit<ConditionStatus, 'lastTransitionTime'>,
  now: Date,
): ConditionStatus[] {
  const out = (conditions ?? []).filter((c) => c.type !== next.type);
  const previous = conditions?.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : metaTime(now);
  out.push({ ...next, lastTransitionTime });
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

/** The owner reference that makes the garbage collector delete a child with its custom resource. */
export function controllerRef(owner: { apiVersion: string; kind: string; metadata: ObjectMeta }): OwnerReference {
  if (!owner.metadata.uid) throw new Error(`${owner.kind} ${owner.metadata.name} has no uid yet`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
