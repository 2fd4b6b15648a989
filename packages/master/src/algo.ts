/** The algorithms a master runs: SODA (Algorithm 1), DAve-PG (SODA with p = 1) and synchronous PG. */
export type Algo = 'soda' | 'dave-pg' | 'sync-pg';
