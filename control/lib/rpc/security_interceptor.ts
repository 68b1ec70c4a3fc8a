/**
 * The control port's access and version checks (server.md §7.2, §7.3) as a Connect server
 * interceptor, and the client interceptor that sends `x-daos-component` / `x-daos-version`.
 *
 * Secure mode: the caller's component is the CN of its verified client certificate (handed
 * over by the listener as {@link PEER_COMPONENT}); the method must allow it, the header
 * component must equal it, and the header (or `sys`) version must be compatible (616).
 * Insecure mode: no access check; the header component/version are trusted for the version
 * rules; without headers a `sys` version suffix must equal ours exactly (617).
 */
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import {
  type Component,
  componentFromCommonName,
  hasAccess,
  permissionDeniedMessage,
} from "./security_authz.ts";
import {
  compatible,
  incompatibleComponents,
  noCompatibilityInsecure,
  parseVersion,
  type Version,
  type VersionedComponent,
  versionFromSys,
} from "./security_version.ts";
import { DAOS_VERSION } from "./version.ts";

/** Header naming the caller's component. */
export const COMPONENT_HEADER = "x-daos-component";
/** Header carrying the caller's version. */
export const VERSION_HEADER = "x-daos-version";

/** The verified peer certificate's component, set by the secure listener; undefined if none. */
export const PEER_COMPONENT = createContextKey<Component | undefined>(undefined, {
  description: "component named by the verified client certificate CN",
});

/** The component for a peer certificate CN, as the listener stores it in the context. */
export function peerComponent(commonName: string | undefined): Component | undefined {
  return commonName === undefined ? undefined : componentFromCommonName(commonName);
}

/** Client interceptor: every call carries our component and version (dmg.md §2.4). */
export function daosHeaders(component: Component, version = DAOS_VERSION): Interceptor {
  return (next) => (req) => {
    req.header.set(COMPONENT_HEADER, component);
    req.header.set(VERSION_HEADER, version);
    return next(req);
  };
}

/** Options of {@link securityInterceptor}. */
export interface SecurityCheckOptions {
  /** True when the listener verifies client certificates (allow_insecure: false). */
  secure: boolean;
  /** This server's version (default {@link DAOS_VERSION}). */
  version?: string;
}

interface HeaderInfo {
  component: string;
  version: Version;
}

function readHeaders(header: Headers): HeaderInfo | undefined {
  const component = header.get(COMPONENT_HEADER);
  const versionText = header.get(VERSION_HEADER);
  if (component === null && versionText === null) return undefined;
  if (component === null || versionText === null) {
    const missing = component === null ? COMPONENT_HEADER : VERSION_HEADER;
    throw new ConnectError(
      `failed to extract peer component/version from headers: ${missing} missing`,
      Code.InvalidArgument,
    );
  }
  const version = parseVersion(versionText);
  if (!version) {
    throw new ConnectError(
      `failed to extract peer component/version from headers: invalid ${VERSION_HEADER} ` +
        `"${versionText}" (expected MAJOR.MINOR.PATCH)`,
      Code.InvalidArgument,
    );
  }
  return { component, version };
}

/** The request's `sys` field when its message type has one. */
function sysField(message: unknown, hasSys: boolean): string | undefined {
  if (!hasSys || typeof message !== "object" || message === null) return undefined;
  const sys = (message as { sys?: unknown }).sys;
  return typeof sys === "string" ? sys : undefined;
}

const ZERO: Version = { major: 0, minor: 0, patch: 0 };

/**
 * Server interceptor enforcing the access table (secure mode) and the interop rules. Errors:
 * Unauthenticated (no verified certificate), PermissionDenied (method not allowed, header
 * component ≠ certificate component), InvalidArgument (half or bad headers), faults 616/617.
 */
export function securityInterceptor(opts: SecurityCheckOptions): Interceptor {
  const ownText = opts.version ?? DAOS_VERSION;
  const own = parseVersion(ownText);
  if (!own) throw new Error(`invalid own version "${ownText}": expected MAJOR.MINOR.PATCH`);
  const self: VersionedComponent = { component: "server", version: own };
  return (next) => (req) => {
    const fullMethod = `/${req.method.parent.typeName}/${req.method.name}`;
    let certComponent: Component | undefined;
    if (opts.secure) {
      certComponent = req.contextValues.get(PEER_COMPONENT);
      if (certComponent === undefined) {
        throw new ConnectError("unable to verify client certificates", Code.Unauthenticated);
      }
      if (!hasAccess(certComponent, fullMethod)) {
        throw new ConnectError(
          permissionDeniedMessage(certComponent, fullMethod),
          Code.PermissionDenied,
        );
      }
    }
    const headers = readHeaders(req.header);
    let other: VersionedComponent;
    if (headers) {
      if (certComponent !== undefined && headers.component !== certComponent) {
        throw new ConnectError(
          `component mismatch (req: "${headers.component}" != cert: "${certComponent}")`,
          Code.PermissionDenied,
        );
      }
      // An unknown component name is incompatible whatever its version (DAOS: "unknown").
      if (componentFromCommonName(headers.component) === "undefined") {
        throw incompatibleComponents(self, { component: "unknown", version: headers.version });
      }
      other = { component: headers.component, version: headers.version };
    } else {
      const sys = req.stream ? undefined : sysField(req.message, "sys" in req.method.input.field);
      // Without headers and without a `sys` field there is nothing to check (DAOS leaves
      // message compatibility to lower layers).
      if (sys === undefined) return next(req);
      const fromSys = versionFromSys(sys);
      if (!opts.secure) {
        // Our own tools always send headers; a bare `sys` without a version suffix carries no
        // version at all, so it is not judged (DAOS would treat it as 0.0.0).
        if (fromSys === undefined) return next(req);
        if (compareExact(own, fromSys)) return next(req);
        throw noCompatibilityInsecure(own, fromSys);
      }
      other = { component: certComponent ?? "server", version: fromSys ?? ZERO };
    }
    if (!compatible(self, other)) throw incompatibleComponents(self, other);
    return next(req);
  };
}

function compareExact(a: Version, b: Version): boolean {
  return a.major === b.major && a.minor === b.minor && a.patch === b.patch;
}
