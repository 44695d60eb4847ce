import { countingObjectStore } from '../../scripts/bench/counting-object-store.js';

/**
 * An in-memory state store with S3's conditional writes (ETags change on every write): the
 * bench's counting store, whose request counts these tests ignore.
 */
export const memoryObjects = countingObjectStore;
