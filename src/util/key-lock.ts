/**
 * Serializes asynchronous jobs per key: a job given a key runs only after every job given that key
 * before it has settled, while jobs of other keys run meanwhile. One promise chain per key, dropped
 * when the key's last job settles, so an idle key costs nothing. Pure: no timers, no I/O.
 *
 * JetStream runs each stream's create, update, delete, purge and consumer changes through one of
 * these (keyed by stream name), so their awaits never interleave.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Keys with a job running or waiting. */
  get size(): number {
    return this.tails.size;
  }

  /**
   * Run `job` once every earlier job of `key` has settled; resolves or rejects as `job` does. A job
   * that throws does not stop the ones queued after it.
   */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(job);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once no job of any key is running or waiting (jobs added meanwhile are waited for too). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
