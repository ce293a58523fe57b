// Elasticsearch's error envelope: `{error: {root_cause: [...], type, reason, ...}, status}`, as the real server
// answers (see ../shared/fixtures/elasticsearch/es7_search_404_no_index.json and es7_search_400_bad_interval.json).

/** The body of one cause: `type` and `reason` plus the exception's own metadata (`index`, `resource.id`, ...). */
export interface EsCause {
  type: string;
  reason: string;
  [extra: string]: unknown;
}

export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    /** Extra keys of the exception (`index`, `resource.type`, `line`, `col`, ...). */
    readonly extra: Record<string, unknown> = {},
    readonly causedBy?: EsError,
  ) {
    super(reason);
  }

  cause_(): EsCause {
    const c: EsCause = { type: this.type, reason: this.message, ...this.extra };
    if (this.causedBy) c.caused_by = this.causedBy.cause_();
    return c;
  }

  /**
   * The root causes Elasticsearch lists: the exception itself, without its cause (only wrapper exceptions, such as
   * search_phase_execution_exception, name their inner ones).
   */
  rootCauses(): EsCause[] {
    return [{ type: this.type, reason: this.message, ...this.extra }];
  }

  body(): { error: Record<string, unknown>; status: number } {
    return { error: { root_cause: this.rootCauses(), ...this.cause_() }, status: this.status };
  }
}

/** An error with explicit root causes (search_phase_execution_exception lists one per failed shard). */
export class ShardsFailedError extends EsError {
  constructor(
    readonly shardCause: EsError,
    readonly indices: string[],
    phase = 'query',
  ) {
    super(shardCause.status, 'search_phase_execution_exception', 'all shards failed', {
      phase,
      grouped: true,
    });
  }

  override rootCauses(): EsCause[] {
    return [{ type: this.shardCause.type, reason: this.shardCause.message, ...this.shardCause.extra }];
  }

  override body(): { error: Record<string, unknown>; status: number } {
    const cause = this.shardCause.cause_();
    const failed = (this.indices.length ? this.indices.slice(0, 1) : ['']).map((index) => ({
      shard: 0,
      index,
      node: NODE_ID,
      reason: cause,
    }));
    return {
      error: {
        root_cause: this.rootCauses(),
        type: this.type,
        reason: this.message,
        ...this.extra,
        failed_shards: failed,
        caused_by: cause,
      },
      status: this.status,
    };
  }
}

export const NODE_ID = 'kgStandIn0AAAAAAAAAAAA';

export const illegalArgument = (reason: string): EsError => new EsError(400, 'illegal_argument_exception', reason);

export const parsingError = (reason: string): EsError =>
  new EsError(400, 'parsing_exception', reason, { line: 1, col: 1 });

export const xContentError = (reason: string): EsError =>
  new EsError(400, 'x_content_parse_exception', `[1:1] ${reason}`);

export function indexNotFound(name: string): EsError {
  return new EsError(404, 'index_not_found_exception', `no such index [${name}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': name,
    index_uuid: '_na_',
    index: name,
  });
}

export function alreadyExists(name: string, uuid: string): EsError {
  return new EsError(400, 'resource_already_exists_exception', `index [${name}/${uuid}] already exists`, {
    index_uuid: uuid,
    index: name,
  });
}
