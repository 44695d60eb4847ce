import { countingObjectStore } from '../../src/local/watcher-bench.js';

/**
 * An in-memory state store with S3's conditional writes (ETags change on every write): the
 * bench's counting store, whose request counts these tests ignore.
 */
export const memoryObjects = countingObjectStore;
