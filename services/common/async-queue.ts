// The one async-iterator plumbing of the services: a queue read as an AsyncIterableIterator, fed either by pushes
// (a subscription's events as they arrive) or by a `pull` step run when a reader waits on an empty queue (a source
// iterator mapped and filtered one item at a time, so that the reader's pace still paces the source).
//
// An iterator object rather than an async generator on purpose: a generator's return() waits until the generator
// reaches its next yield, so a client unsubscribing from a quiet stream would keep the stream (and whatever feeds it)
// open until the next event. Here return() ends the queue at once.

export interface AsyncQueueOptions<T> {
  /** Items that may wait unread; one more is an overflow (default: unbounded). */
  maxPending?: number;
  /**
   * Called when a push finds maxPending items waiting: the item is dropped and the queue ends, with the error this
   * returns (thrown to the reader once the items before it are read) or without one.
   */
  onOverflow?: () => Error | void;
  /** Called once when the queue ends: by end(), return(), an overflow or a failed pull; return() waits for it. */
  onEnd?: () => void | Promise<void>;
  /**
   * Run when a reader finds the queue empty (never twice at once): pushes what it produces, possibly nothing (it is
   * then run again), or ends the queue. A pull that throws ends the queue with that error.
   */
  pull?: (queue: AsyncQueue<T>) => Promise<void>;
}

export interface AsyncQueue<T> extends AsyncIterableIterator<T> {
  /** Queues an item; false when it was not queued (the queue has ended, or it overflowed and has now ended). */
  push(item: T): boolean;
  /** Ends the queue: items already queued are still read, then the error (if any) is thrown, then it is done. */
  end(error?: Error): void;
  /** Ends the queue and drops what is queued: the reader is done at once. */
  return(): Promise<IteratorResult<T>>;
  readonly ended: boolean;
}

export function asyncQueue<T>(options: AsyncQueueOptions<T> = {}): AsyncQueue<T> {
  const pending: T[] = [];
  const waiters = new Set<() => void>();
  const maxPending = options.maxPending ?? Infinity;
  let ended = false;
  let failure: Error | undefined;
  let pulling = false;
  let ending: Promise<void> | undefined;
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });
  const wake = () => {
    for (const w of waiters) w();
    waiters.clear();
  };

  const queue: AsyncQueue<T> = {
    get ended() {
      return ended;
    },

    push(item: T): boolean {
      if (ended) return false;
      if (pending.length >= maxPending) {
        // The reader stopped reading: end rather than grow without bound.
        const error = options.onOverflow?.();
        queue.end(error || undefined);
        return false;
      }
      pending.push(item);
      wake();
      return true;
    },

    end(error?: Error): void {
      if (ended) return;
      ended = true;
      failure = error;
      wake();
      ending = Promise.resolve(options.onEnd?.());
      // Only return() reports a failed onEnd; an end by a push or a pull must not leave it unhandled.
      ending.catch(() => {});
    },

    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (pending.length) return { value: pending.shift() as T, done: false };
        if (ended) {
          if (!failure) return done();
          const f = failure;
          failure = undefined;
          throw f;
        }
        if (options.pull && !pulling) {
          pulling = true;
          try {
            await options.pull(queue);
          } catch (e) {
            queue.end(e instanceof Error ? e : new Error(String(e)));
          } finally {
            pulling = false;
          }
          continue;
        }
        await new Promise<void>((resolve) => waiters.add(resolve));
      }
    },

    async return(): Promise<IteratorResult<T>> {
      pending.length = 0;
      failure = undefined;
      queue.end();
      await ending;
      return done();
    },

    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
