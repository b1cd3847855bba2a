/** Nest token of the provider account's ChainConnection (null when chain reporting is off). */
export const CHAIN_CONNECTION = Symbol('CHAIN_CONNECTION');
