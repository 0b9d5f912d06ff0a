/* options_table.c -- allium's option table: every option allium
 * implements, with tor's name, type and default (tor(1), the option list of
 * tor 0.4.9), and the names of tor options accepted but not implemented
 * yet (tor_options_known.inc, generated from tor --list-torrc-options).
 */
#include "options_table.h"

#include <stddef.h>

#define OFF(f) offsetof(allium_options_t, f)
/* Plain row. */
#define V(name, type, dflt, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, 0, 0, NULL, 0 }
/* Numeric row with limits. */
#define VR(name, type, dflt, min, max, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, min, max, NULL, 0 }
/* Row with flags. */
#define VF(name, type, dflt, flags, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, 0, 0, NULL, flags }
/* Refused row (not supported yet): any value but the default is an
 * error (options_validate() names each one set). */
#define VX(name, type, dflt, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, 0, 0, NULL, \
    CONF_FLAG_REFUSED }
/* Onion service row: all share the HiddenServiceOptions list.  Refused:
 * a configured service that silently does not run is a surprise, not a
 * safe default. */
#define VHS(name, doc) \
  { #name, CONF_TYPE_LINELIST, OFF(HiddenServiceOptions), NULL, \
    doc " (not supported yet)", 0, 0, NULL, CONF_FLAG_REFUSED }
/* Onion service row that is parsed (feature/hs_service/hs_service_config.h);
 * options_validate() still refuses to start a service until they run. */
#define VHSP(name, doc) \
  { #name, CONF_TYPE_LINELIST, OFF(HiddenServiceOptions), NULL, doc, 0, 0, \
    NULL, 0 }

static const char *const safelogging_words[] = { "0", "1", "relay", NULL };

static const conf_var_t option_vars[] = {
  /* General */
  V(DataDirectory, FILENAME, NULL,
    "Directory for keys and state (required for relays)"),
  V(CacheDirectory, FILENAME, NULL,
    "Directory for cached directory documents (default: DataDirectory)"),
  V(ClientOnionAuthDir, FILENAME, NULL,
    "Directory of *.auth_private onion-service client authorization keys"),
  V(KeyDirectory, FILENAME, NULL,
    "Directory for keys (default: DataDirectory/keys)"),
  V(DataDirectoryGroupReadable, BOOL, "0",
    "Let the group read the DataDirectory"),
  V(Log, LINELIST, NULL,
    "Log destination: minsev[-maxsev] stderr|stdout|syslog|file PATH"),
  VR(LogTimeGranularity, MSEC_INTERVAL, "1 second", 1, 2147483647,
     "Round log timestamps to this granularity"),
  V(TruncateLogFile, BOOL, "0", "Truncate log files on startup and SIGHUP"),
  V(RunAsDaemon, BOOL, "0", "Detach from the terminal and run in the background"),
  V(PidFile, FILENAME, NULL, "Write the process id to this file"),
  V(User, STRING, NULL, "Switch to this user after startup"),
  { "SafeLogging", CONF_TYPE_CHOICE, OFF(SafeLogging), "1",
    "Scrub sensitive strings from logs: 0, 1 or relay", 0, 0,
    safelogging_words, 0 },
  V(Sandbox, BOOL, "0", "Syscall sandbox (not supported: must be 0)"),
  V(DisableDebuggerAttachment, BOOL, "1",
    "Refuse debugger attachment and core dumps"),
  V(AvoidDiskWrites, BOOL, "0", "Write to disk less often"),
  V(DisableNetwork, BOOL, "0", "Make no network connections and accept none"),
  VR(HeartbeatPeriod, INTERVAL, "6 hours", 0, 2147483647,
     "Log a heartbeat message this often (0 disables)"),
  VR(ShutdownWaitLength, INTERVAL, "30 seconds", 0, 2147483647,
     "Relay shutdown delay after SIGINT"),
  VR(NumCPUs, INT, "0", 0, 128, "Worker threads for crypto (0: guess)"),
  VR(ConnLimit, INT, "1000", 0, 2147483647,
     "Minimum number of file descriptors required"),
  V(MaxMemInQueues, MEMORY, "0",
    "Memory for queued cells before closing circuits (0: automatic)"),
  VR(KeepalivePeriod, INTERVAL, "5 minutes", 1, 2147483647,
     "Send a keepalive cell on idle connections this often"),
  V(ProtocolWarnings, BOOL, "0", "Log protocol violations at warn severity"),
  V(BandwidthRate, MEMORY, "1 GB", "Average bandwidth per second"),
  V(BandwidthBurst, MEMORY, "1 GB", "Maximum bandwidth burst"),
  V(RelayBandwidthRate, MEMORY, "0",
    "Average relayed bandwidth per second (0: BandwidthRate)"),
  V(RelayBandwidthBurst, MEMORY, "0",
    "Maximum relayed bandwidth burst (0: BandwidthBurst)"),
  V(MaxAdvertisedBandwidth, MEMORY, "1 GB",
    "Advertise at most this bandwidth in the descriptor"),
  V(AccountingMax, MEMORY, "0",
    "Hibernate after this many bytes per accounting period (0: off)"),
  V(AccountingStart, STRING, NULL,
    "Accounting period: day|week|month [day] HH:MM (UTC; month 1 0:00)"),
  V(AccountingRule, STRING, "max",
    "What AccountingMax bounds: max, sum, in or out"),
  VR(TokenBucketRefillInterval, MSEC_INTERVAL, "100 msec", 1, 1000,
     "Refill the bandwidth token buckets this often"),
  VF(DirAuthority, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Directory authority: nickname [flags] address:port fingerprint"),
  VF(AlternateDirAuthority, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Directory authority that replaces only the default directory ones"),
  V(AlternateBridgeAuthority, LINELIST, NULL,
    "Bridge authority that replaces only the default bridge ones"),
  VF(FallbackDir, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Fallback directory: address[:dirport] orport=N id=FP [weight=N] [ipv6=]"),
  V(UseDefaultFallbackDirs, BOOL, "1",
    "Use the built-in fallback directories when no FallbackDir is set"),
  V(TestingTorNetwork, BOOL, "0",
    "Test-network mode: shorter timers, private addresses allowed"),
  V(ConnectionPadding, AUTOBOOL, "auto", "Pad idle OR connections"),
  V(ReducedConnectionPadding, BOOL, "0", "Pad less (mobile clients)"),
  V(CircuitPadding, BOOL, "1", "Use circuit-level padding machines"),
  /* Control */
  V(ControlPort, PORTLIST, NULL, "Control protocol listener"),
  V(CookieAuthentication, BOOL, "0", "Authenticate controllers with a cookie file"),
  V(CookieAuthFile, FILENAME, NULL,
    "Cookie file (default: DataDirectory/control_auth_cookie)"),
  V(CookieAuthFileGroupReadable, BOOL, "0", "Let the group read the cookie file"),
  VF(HashedControlPassword, LINELIST, NULL, CONF_FLAG_SENSITIVE,
     "Controller password hash (16:...)"),
  V(ControlPortWriteToFile, FILENAME, NULL,
    "Write the control listener addresses to this file"),
  V(ControlPortFileGroupReadable, BOOL, "0",
    "Let the group read ControlPortWriteToFile"),
  V(ControlSocket, LINELIST, NULL, "Control protocol on a Unix socket"),
  V(ControlSocketsGroupWritable, BOOL, "0",
    "Let the group write to ControlSocket sockets"),
  { "__OwningControllerProcess", CONF_TYPE_STRING,
    OFF(OwningControllerProcess), NULL,
    "Exit when this process id is gone", 0, 0, NULL, CONF_FLAG_HIDDEN },
  /* Client */
  V(SocksPort, PORTLIST, "9050", "SOCKS listener: [address:]port|auto|unix:path [flags]"),
  V(HTTPTunnelPort, PORTLIST, NULL, "HTTP CONNECT listener"),
  V(SocksPolicy, LINELIST, NULL, "Who may connect to SocksPort: accept|reject pattern"),
  /* Metrics (feature/metrics, src/app/main/app_metrics.c) */
  V(MetricsPort, PORTLIST, NULL,
    "Prometheus metrics over HTTP: [address:]port [prometheus]"),
  V(MetricsPortPolicy, LINELIST, NULL,
    "Who may connect to MetricsPort: accept|reject pattern (default: nobody)"),
  V(SafeSocks, BOOL, "0", "Refuse SOCKS requests that carry an IP address"),
  V(TestSocks, BOOL, "0", "Log whether each SOCKS request was safe"),
  V(WarnUnsafeSocks, BOOL, "1", "Warn about SOCKS requests that carry an IP address"),
  V(MapAddress, LINELIST, NULL,
    "Rewrite a destination address: MapAddress old-address new-address"),
  { "__LeaveStreamsUnattached", CONF_TYPE_BOOL, OFF(LeaveStreamsUnattached),
    "0", "Leave new streams for the controller to attach (ATTACHSTREAM)",
    0, 0, NULL, CONF_FLAG_HIDDEN },
  VR(SocksTimeout, INTERVAL, "2 minutes", 1, 2147483647,
     "Give up on an unattached SOCKS connection after this long"),
  /* Refused until the relay role exists (it becomes implemented then). */
  VX(ClientOnly, BOOL, "0", "Never act as a relay (not supported yet: must be 0)"),
  V(UseMicrodescriptors, AUTOBOOL, "auto", "Fetch microdescriptors"),
  V(UseEntryGuards, BOOL, "1", "Use long-term entry guards"),
  VR(NumEntryGuards, INT, "0", 0, 64, "Number of primary guards (0: consensus)"),
  VR(GuardLifetime, INTERVAL, "0", 0, 2147483647,
     "How long to keep a guard (0: consensus)"),
  V(EntryNodes, CSV, NULL, "Prefer these nodes as the first hop"),
  V(ExitNodes, CSV, NULL, "Prefer these nodes as the last hop"),
  V(ExcludeNodes, CSV, NULL, "Never use these nodes"),
  V(ExcludeExitNodes, CSV, NULL, "Never use these nodes as the last hop"),
  V(StrictNodes, BOOL, "0", "Treat ExcludeNodes as a hard requirement"),
  V(EnforceDistinctSubnets, BOOL, "1", "Never pick two relays of one /16"),
  VR(CircuitBuildTimeout, INTERVAL, "60 seconds", 0, 2147483647,
     "Circuit build timeout when not learned"),
  V(LearnCircuitBuildTimeout, BOOL, "1", "Learn the circuit build timeout"),
  VR(CircuitStreamTimeout, INTERVAL, "0", 0, 2147483647,
     "Stream attach timeout before trying another circuit (0: adaptive)"),
  VR(NewCircuitPeriod, INTERVAL, "30 seconds", 0, 2147483647,
     "Consider building a new circuit this often"),
  VR(MaxCircuitDirtiness, INTERVAL, "10 minutes", 0, 2147483647,
     "Reuse a circuit for new streams for at most this long"),
  V(LongLivedPorts, CSV,
    "21,22,706,1863,5050,5190,5222,5223,6523,6667,6697,8300",
    "Ports that need stable circuits"),
  V(FetchDirInfoEarly, BOOL, "0", "Fetch directory info on the mirror schedule"),
  V(FetchDirInfoExtraEarly, BOOL, "0",
    "Fetch directory info as early as authorities allow"),
  V(ClientUseIPv4, BOOL, "1", "Connect to relays over IPv4"),
  V(ClientUseIPv6, BOOL, "1", "Connect to relays over IPv6"),
  V(ClientPreferIPv6ORPort, AUTOBOOL, "auto", "Prefer relays' IPv6 ORPort"),
  V(ConfluxEnabled, AUTOBOOL, "auto", "Use conflux (multipath) circuits"),
  V(VanguardsLiteEnabled, AUTOBOOL, "auto",
    "Layer-2 nodes for onion-service circuits (proposal 333)"),
  /* Relay */
  V(ORPort, PORTLIST, NULL, "Relay listener: [address:]port|auto [flags]"),
  V(DirPort, PORTLIST, NULL, "Directory listener: [address:]port|auto"),
  V(Address, LINELIST, NULL, "Our public IPv4 and/or IPv6 address or hostname"),
  V(AddressDisableIPv6, BOOL, "0", "Never guess or publish an IPv6 address"),
  V(Nickname, STRING, NULL, "Relay nickname: 1-19 letters and digits"),
  V(ContactInfo, STRING, NULL, "Operator contact, published in the descriptor"),
  V(MyFamily, LINELIST, NULL, "Relays run by the same operator"),
  V(ExitRelay, AUTOBOOL, "auto", "Allow exit traffic"),
  V(ExitPolicy, LINELIST, NULL, "accept|reject[6] address[/mask][:port[-port]], ..."),
  V(ExitPolicyRejectPrivate, BOOL, "1", "Reject exits to private addresses"),
  V(ExitPolicyRejectLocalInterfaces, BOOL, "0",
    "Reject exits to our own interface addresses"),
  V(ReducedExitPolicy, BOOL, "0", "Use tor's reduced exit policy"),
  V(IPv6Exit, BOOL, "0", "Allow exits to IPv6 addresses"),
  V(AssumeReachable, BOOL, "0", "Skip the ORPort reachability self-test"),
  V(DirCache, BOOL, "1", "Serve directory documents"),
  V(BridgeRelay, BOOL, "0", "Act as a bridge"),
  V(PublishServerDescriptor, CSV, "1",
    "Where to publish the descriptor: 0, 1, v3, bridge"),
  /* Relay DoS defences (tor(1); "auto" / 0: the consensus parameter) */
  V(DoSCircuitCreationEnabled, AUTOBOOL, "auto",
    "Refuse CREATE cells from client addresses over the rate"),
  VR(DoSCircuitCreationMinConnections, INT, "0", 0, 2147483647,
     "Connections an address needs to be marked (0: consensus, 3)"),
  VR(DoSCircuitCreationRate, INT, "0", 0, 2147483647,
     "CREATE cells per second per client address (0: consensus, 3)"),
  VR(DoSCircuitCreationBurst, INT, "0", 0, 2147483647,
     "CREATE cell burst per client address (0: consensus, 90)"),
  VR(DoSCircuitCreationDefenseType, INT, "0", -2147483647, 2147483647,
     "1: none, 2: refuse CREATE cells (0: consensus, 2)"),
  VR(DoSCircuitCreationDefenseTimePeriod, INTERVAL, "0", 0, 2147483647,
     "Base time an address stays refused (0: consensus, 1 hour)"),
  V(DoSConnectionEnabled, AUTOBOOL, "auto",
    "Close connections from client addresses over the limits"),
  VR(DoSConnectionMaxConcurrentCount, INT, "0", 0, 2147483647,
     "Open connections per client address (0: consensus, 100)"),
  VR(DoSConnectionDefenseType, INT, "0", -2147483647, 2147483647,
     "1: none, 2: close new connections (0: consensus, 2)"),
  VR(DoSConnectionConnectRate, INT, "0", 0, 2147483647,
     "New connections per second per client address (0: consensus, 20)"),
  VR(DoSConnectionConnectBurst, INT, "0", 0, 2147483647,
     "New connection burst per client address (0: consensus, 40)"),
  VR(DoSConnectionConnectDefenseTimePeriod, INTERVAL, "0", 0, 2147483647,
     "Base time an address over the connect rate stays refused "
     "(0: consensus, 24 hours)"),
  V(DoSStreamCreationEnabled, AUTOBOOL, "auto",
    "Rate-limit streams per circuit"),
  VR(DoSStreamCreationRate, INT, "0", 0, 2147483647,
     "Streams per second per circuit (0: consensus, 100)"),
  VR(DoSStreamCreationBurst, INT, "0", 0, 2147483647,
     "Stream burst per circuit (0: consensus, 300)"),
  VR(DoSStreamCreationDefenseType, INT, "0", -2147483647, 2147483647,
     "1: none, 2: refuse the stream, 3: close the circuit (0: consensus)"),
  V(DoSRefuseSingleHopClientRendezvous, AUTOBOOL, "auto",
    "Drop ESTABLISH_RENDEZVOUS from single-hop clients"),
  /* Exit resolver (feature/exit/exit_dns.h) */
  V(ServerDNSResolvConfFile, FILENAME, NULL,
    "resolv.conf for the exit's resolver (default: /etc/resolv.conf)"),
  V(ServerDNSSearchDomains, BOOL, "0",
    "Apply the resolv.conf search domains to exit lookups"),
  V(ServerDNSDetectHijacking, BOOL, "1",
    "Detect a resolver that answers for names that do not exist"),
  V(ServerDNSTestAddresses, CSV,
    "www.google.com,www.mit.edu,www.yahoo.com,www.slashdot.org",
    "Well-known names the exit checks its resolver with"),
  V(ServerDNSAllowNonRFC953Hostnames, BOOL, "0",
    "Resolve names with characters outside [A-Za-z0-9-_.]"),
  V(ServerDNSRandomizeCase, BOOL, "1",
    "Randomise the case of DNS queries (0x20 bit) against spoofing"),
  /* Onion services */
  VHSP(HiddenServiceDir, "Onion service directory (starts a service block)"),
  VHSP(HiddenServicePort, "VIRTPORT [TARGET] for the current onion service"),
  VHSP(HiddenServiceVersion, "Onion service version (only 3)"),
  VHSP(HiddenServiceAllowUnknownPorts, "Keep circuits to unknown ports open"),
  VHSP(HiddenServiceMaxStreams, "Most streams per rendezvous circuit"),
  VHSP(HiddenServiceMaxStreamsCloseCircuit,
      "Close the circuit when MaxStreams is exceeded"),
  VHSP(HiddenServiceDirGroupReadable, "Let the group read the service dir"),
  VHSP(HiddenServiceNumIntroductionPoints, "Introduction points (3-20)"),
  VHSP(HiddenServiceEnableIntroDoSDefense, "Rate-limit INTRODUCE2 cells"),
  VHSP(HiddenServiceEnableIntroDoSRatePerSec, "INTRODUCE2 rate limit"),
  VHSP(HiddenServiceEnableIntroDoSBurstPerSec, "INTRODUCE2 burst limit"),
  /* Single onion services (must go together, options_validate()). */
  V(HiddenServiceSingleHopMode, BOOL, "0",
    "Non-anonymous single-hop onion service circuits"),
  V(HiddenServiceNonAnonymousMode, BOOL, "0",
    "Non-anonymous onion service mode (needs SocksPort 0)"),
  VHS(HiddenServiceExportCircuitID, "Tell the target which circuit connects"),
  VHS(HiddenServiceOnionBalanceInstance, "Serve as an Onionbalance backend"),
  VHS(HiddenServicePoWDefensesEnabled, "Proof-of-work DoS defence"),
  VHS(HiddenServicePoWQueueRate, "Proof-of-work queue rate"),
  VHS(HiddenServicePoWQueueBurst, "Proof-of-work queue burst"),
  /* ---- Not supported yet: refused unless left at the default.  Each is
   * security-relevant: ignoring it would send traffic where the user
   * asked it not to go (or expose what the user asked to protect). ---- */
  /* A censored user would connect straight to public guards. */
  VX(UseBridges, BOOL, "0", "Connect through bridges (not supported yet)"),
  VX(Bridge, LINELIST, NULL,
     "Bridge: [transport] address:port [fingerprint] (not supported yet)"),
  /* Without the transport the connection is not disguised. */
  VX(ClientTransportPlugin, LINELIST, NULL,
     "Pluggable transport for bridges (not supported yet)"),
  /* Each proxy option: every connection must go through that proxy; a
   * direct connection would bypass it. */
  VX(Socks4Proxy, STRING, NULL,
     "Make OR connections through this SOCKS 4 proxy (not supported yet)"),
  VX(Socks5Proxy, STRING, NULL,
     "Make OR connections through this SOCKS 5 proxy (not supported yet)"),
  VX(Socks5ProxyUsername, STRING, NULL,
     "Username for Socks5Proxy (not supported yet)"),
  { "Socks5ProxyPassword", CONF_TYPE_STRING, OFF(Socks5ProxyPassword), NULL,
    "Password for Socks5Proxy (not supported yet)", 0, 0, NULL,
    CONF_FLAG_REFUSED | CONF_FLAG_SENSITIVE },
  VX(HTTPSProxy, STRING, NULL,
     "Make OR connections through this HTTPS proxy (not supported yet)"),
  { "HTTPSProxyAuthenticator", CONF_TYPE_STRING, OFF(HTTPSProxyAuthenticator),
    NULL, "user:password for HTTPSProxy (not supported yet)", 0, 0, NULL,
    CONF_FLAG_REFUSED | CONF_FLAG_SENSITIVE },
  VX(HTTPProxy, STRING, NULL,
     "Make directory requests through this HTTP proxy (not supported yet)"),
  { "HTTPProxyAuthenticator", CONF_TYPE_STRING, OFF(HTTPProxyAuthenticator),
    NULL, "user:password for HTTPProxy (not supported yet)", 0, 0, NULL,
    CONF_FLAG_REFUSED | CONF_FLAG_SENSITIVE },
  VX(TCPProxy, STRING, NULL,
     "Make OR connections through this TCP proxy (not supported yet)"),
  /* The user's firewall allows only these destinations: connecting
   * elsewhere fails or is noticed.  (FirewallPorts alone does nothing in
   * tor either: it only feeds FascistFirewall, so it stays harmless.) */
  VX(ReachableAddresses, LINELIST, NULL,
     "Addresses the firewall lets us reach (not supported yet)"),
  VX(ReachableORAddresses, LINELIST, NULL,
     "Addresses the firewall lets us reach for OR connections (not "
     "supported yet)"),
  VX(ReachableDirAddresses, LINELIST, NULL,
     "Addresses the firewall lets us reach for directory fetches (not "
     "supported yet)"),
  VX(FascistFirewall, BOOL, "0",
     "Only connect to relays on FirewallPorts (not supported yet)"),
  /* Outgoing connections must leave from this address (a VPN, one
   * interface); the default route may bypass it.  (OutboundBindAddressPT
   * stays harmless: the transports themselves are refused.) */
  VX(OutboundBindAddress, LINELIST, NULL,
     "Source address of outgoing connections (not supported yet)"),
  VX(OutboundBindAddressOR, LINELIST, NULL,
     "Source address of outgoing OR connections (not supported yet)"),
  /* An exit's connections would leave from another address than the
   * operator chose (its abuse contact, its reverse DNS). */
  VX(OutboundBindAddressExit, LINELIST, NULL,
     "Source address of exit connections (not supported yet)"),
  /* Middle hops would come from outside the user's list. */
  VX(MiddleNodes, CSV, NULL,
     "Use only these nodes as middle hops (not supported yet)"),
  /* Two relays the user knows to be one operator could share a circuit. */
  VX(NodeFamily, LINELIST, NULL,
     "Nodes never to use in one circuit (not supported yet)"),
  /* Connections to ports the user forbade would be made. */
  VX(RejectPlaintextPorts, CSV, NULL,
     "Refuse streams to these ports (not supported yet)"),
  /* Key material could be swapped to disk. */
  VX(DisableAllSwap, BOOL, "0",
     "Lock all memory so nothing is swapped (not supported yet)"),
};

/* Reviewed tor options that stay "harmless when unused" (one notice),
 * although they touch the same areas:
 *   HSLayer2Nodes, HSLayer3Nodes, VanguardsLiteEnabled,
 *     FetchHidServDescriptors: only onion service circuits use them, and
 *     allium refuses every .onion request (feature/client client_conn.c);
 *     they must become implemented or refused when onion services arrive.
 *   ClientRejectInternalAddresses 0, ClientDNSRejectInternalAddresses 0,
 *     AllowNonRFC953Hostnames 1: ask for more permissive behaviour, never
 *     for traffic to be kept somewhere.
 *   DNSPort, TransPort, NATDPort (and the __*Port forms): a listener that is
 *     not opened fails closed (nothing answers, nothing is sent).
 *   FirewallPorts, OutboundBindAddressPT,
 *     UpdateBridgesFromAuthority: no effect without a refused option
 *     (FascistFirewall, ClientTransportPlugin, UseBridges).
 *   GeoIPFile, GeoIPv6File, GeoIPExcludeUnknown: country codes in node
 *     lists are refused by options_validate() instead (no GeoIP yet).
 *   TrackHostExits, AutomapHostsOnResolve, WarnPlaintextPorts: convenience
 *     or warnings only.
 *   NoExec 1: allium never runs another program. */

static const conf_alias_t option_aliases[] = {
  { "MaxConn", "ConnLimit" },
  { "BandwidthRateBytes", "BandwidthRate" },
  { "BandwidthBurstBytes", "BandwidthBurst" },
  { "DirServer", "DirAuthority" },
};

options_kind_t
options_kind(const char *name)
{
  const conf_var_t *v = conf_find_var(&options_format, name);
  if (v)
    return (v->flags & CONF_FLAG_REFUSED) ? OPTIONS_KIND_REFUSED
                                           : OPTIONS_KIND_IMPLEMENTED;
  return conf_find_ignored(&options_format, name) ? OPTIONS_KIND_HARMLESS
                                                  : OPTIONS_KIND_UNKNOWN;
}

const char *const options_tor_known[] = {
#include "tor_options_known.inc"
  NULL
};
const size_t options_tor_known_count =
  sizeof(options_tor_known) / sizeof(options_tor_known[0]) - 1;

const conf_format_t options_format = {
  sizeof(allium_options_t),
  option_vars, sizeof(option_vars) / sizeof(option_vars[0]),
  option_aliases, sizeof(option_aliases) / sizeof(option_aliases[0]),
  options_tor_known,
  sizeof(options_tor_known) / sizeof(options_tor_known[0]) - 1,
};
