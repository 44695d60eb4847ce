/** The record of a worker slot's shared moto_server: `<slot>.moto.json` in the run's sharedMotoDir, `{ pid, port, endpoint }`. */
export const SHARED_MOTO_RECORD = '.moto.json';
