// The labels and annotations kubegraph reads and writes on Kubernetes objects, each named once. They are KubeSphere's
// own, so that clusters already run by KubeSphere work as they are.

/** A namespace's workspace: the namespace is a project of that workspace (none: the platform admins' alone). */
export const WORKSPACE_LABEL = 'kubesphere.io/workspace';
/** The user who created a project, as KubeSphere records it. */
export const CREATOR_ANNOTATION = 'kubesphere.io/creator';
