// graphile-worker's bench module lives in bench/peers/systems (with the version the bench runs); this
// keeps `node bench/probe-cpu.mjs 500 20000 graphile-worker` working (run there on the probe's own Node).
export * from '../peers/systems/graphile-worker.mjs';
