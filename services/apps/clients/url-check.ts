// Which URLs the apps subgraph fetches for a repository, and which addresses it connects to. A repository URL comes
// from a tenant (a workspace admin), so it is a way to make the server send requests: only http(s), and never to the
// link-local ranges where clouds serve instance metadata and credentials (169.254.0.0/16, fe80::/10, also written as
// IPv4-mapped IPv6). Every address a name resolves to is checked, and the connection goes to the checked address
// itself (the `lookup` handed to node:http), so a second DNS answer cannot swap it (DNS rebinding).
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { badUserInput } from '../../common/errors.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (injectable: tests pass a stub, never the network). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

/** Whether an IP address lies in a refused range (BlockList also matches IPv4-mapped IPv6 against IPv4 rules). */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // A zone index (fe80::1%eth0) is not part of the address.
  const bare = address.split('%')[0];
  return LINK_LOCAL.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

const URL_MAX = 2048;

/** Parses and checks a repository or chart URL: http(s) only, no credentials in it, a host. */
export function checkUrlSyntax(raw: string, what = 'repository URL'): URL {
  if (typeof raw !== 'string' || raw.length > URL_MAX)
    throw badUserInput(`the ${what} must be at most ${URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badUserInput(`the ${what} ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badUserInput(
      `the ${what} must be http:// or https:// (got ${url.protocol.replace(/:$/, '')}://${url.protocol === 'oci:' ? '; OCI registries are not supported' : ''})`,
    );
  if (url.username || url.password)
    throw badUserInput(`the ${what} must not carry credentials: give username and password instead`);
  if (!url.hostname) throw badUserInput(`the ${what} has no host`);
  return url;
}

const bareHost = (hostname: string) => hostname.replace(/^\[|\]$/g, '');

/**
 * Resolves the URL's host and checks every address; returns the addresses to connect to (an IP literal is checked
 * as it is). BAD_USER_INPUT when any of them is refused or the name does not resolve.
 */
export async function resolveChecked(url: URL, resolver: Resolver): Promise<ResolvedAddress[]> {
  const host = bareHost(url.hostname);
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolver(host);
    } catch (e) {
      throw badUserInput(`the host ${host} does not resolve: ${(e as Error).message}`);
    }
    if (addresses.length === 0) throw badUserInput(`the host ${host} does not resolve`);
  }
  const refused = addresses.find((a) => isRefusedAddress(a.address));
  if (refused)
    throw badUserInput(
      `the host ${host} resolves to ${refused.address}, a link-local address (cloud instance metadata): refused`,
    );
  return addresses;
}

/** A node:net lookup that answers with addresses already checked, for the one connection they were checked for. */
export function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const all = (options as { all?: boolean }).all === true;
    // Node calls lookup with `all: true` when autoSelectFamily is on (Happy Eyeballs): hand back the list.
    if (all)
      (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(
        null,
        addresses.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, addresses[0].address, addresses[0].family);
  };
}
