/**
 * The DAOS version this control plane implements (dmg.md reference, VERSION = 2.9.100); sent
 * as `x-daos-version` and in MS requests' `sys` suffix.
 */
export const DAOS_VERSION = "2.9.100";
