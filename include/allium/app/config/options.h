/* options.h -- allium's configuration: the options struct, its table, and
 * loading from the command line and torrc files.
 *
 * allium reads tor's configuration format with tor's option names and
 * defaults (tor(1), "THE CONFIGURATION FILE FORMAT" and the option list).
 * Every option name tor 0.4.9 knows is of one of three kinds
 * (options_kind()):
 *   - implemented: a field of allium_options_t;
 *   - harmless when unused (ControlPort, ORPort, ... until those roles
 *     exist): accepted and ignored, with one notice naming them all;
 *   - refused (security-relevant, not supported yet: UseBridges, Bridge,
 *     the proxies, ReachableAddresses, HiddenService*, ...): parsed into a
 *     field, and any value other than the default makes the configuration
 *     invalid, because ignoring it would send traffic where the user asked
 *     it not to go.  options_validate() names every such option set.
 * Any other name is an error that suggests the closest known option.
 *
 * Field types: char * (NULL = unset), int, uint64_t, char ** (CSV,
 * NULL-terminated, NULL if empty) and config_line_t * (repeatable options,
 * NULL if empty; each line's key is the canonical option name).
 */
#ifndef ALLIUM_APP_CONFIG_OPTIONS_H
#define ALLIUM_APP_CONFIG_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "allium/lib/conf/confline.h"

/** SafeLogging values (field SafeLogging). */
#define SAFELOG_OFF 0
#define SAFELOG_ON 1
#define SAFELOG_RELAY 2

/** AUTOBOOL fields: 0, 1, or this. */
#define OPT_AUTO (-1)

typedef struct allium_options_t {
  /* --- General --- */
  char *DataDirectory;          /**< NULL: none given (relays must set it) */
  char *CacheDirectory;
  char *ClientOnionAuthDir;     /**< *.auth_private files (hs client auth) */
  char *KeyDirectory;
  int DataDirectoryGroupReadable;
  config_line_t *Log;           /**< "minsev[-maxsev] stderr|stdout|syslog|file PATH" */
  int LogTimeGranularity;       /**< msec */
  int TruncateLogFile;
  int RunAsDaemon;
  char *PidFile;
  char *User;
  int SafeLogging;              /**< SAFELOG_* */
  int Sandbox;                  /**< only 0 is supported */
  int DisableDebuggerAttachment;
  int AvoidDiskWrites;
  int DisableNetwork;
  int HeartbeatPeriod;          /**< seconds */
  int ShutdownWaitLength;       /**< seconds */
  int NumCPUs;
  int ConnLimit;
  uint64_t MaxMemInQueues;      /**< bytes; 0 = pick automatically */
  int KeepalivePeriod;          /**< seconds */
  int ProtocolWarnings;
  uint64_t BandwidthRate;       /**< bytes per second */
  uint64_t BandwidthBurst;
  uint64_t RelayBandwidthRate;
  uint64_t RelayBandwidthBurst;
  uint64_t MaxAdvertisedBandwidth;
  uint64_t AccountingMax;       /**< bytes per interval; 0: off */
  char *AccountingStart;        /**< "day|week|month [day] HH:MM" */
  char *AccountingRule;         /**< sum|max|in|out */
  int TokenBucketRefillInterval;  /**< msec */
  config_line_t *DirAuthority;
  config_line_t *AlternateDirAuthority;
  config_line_t *AlternateBridgeAuthority;
  config_line_t *FallbackDir;
  int UseDefaultFallbackDirs;
  int TestingTorNetwork;
  int ConnectionPadding;        /**< AUTOBOOL */
  int ReducedConnectionPadding;
  int CircuitPadding;
  /* --- Control --- */
  config_line_t *ControlPort;
  int CookieAuthentication;
  char *CookieAuthFile;
  int CookieAuthFileGroupReadable;
  config_line_t *HashedControlPassword;
  char *ControlPortWriteToFile;
  int ControlPortFileGroupReadable;
  config_line_t *ControlSocket;
  int ControlSocketsGroupWritable;
  char *OwningControllerProcess;  /**< __OwningControllerProcess */
  /* --- Client --- */
  config_line_t *SocksPort;
  config_line_t *HTTPTunnelPort;
  config_line_t *SocksPolicy;
  config_line_t *MetricsPort;       /**< [address:]port [prometheus] */
  config_line_t *MetricsPortPolicy; /**< who may use the MetricsPort */
  int SafeSocks;                /**< refuse SOCKS requests with an IP */
  int TestSocks;                /**< notice per SOCKS request: safe? */
  int WarnUnsafeSocks;          /**< warn on SOCKS requests with an IP */
  int SocksTimeout;             /**< seconds */
  int ClientOnly;
  int UseMicrodescriptors;      /**< AUTOBOOL */
  int UseEntryGuards;
  int NumEntryGuards;           /**< 0 = consensus default */
  int GuardLifetime;            /**< seconds; 0 = consensus default */
  char **EntryNodes;
  char **ExitNodes;
  char **ExcludeNodes;
  char **ExcludeExitNodes;
  int StrictNodes;
  int EnforceDistinctSubnets;
  int CircuitBuildTimeout;      /**< seconds */
  int LearnCircuitBuildTimeout;
  int CircuitStreamTimeout;     /**< seconds; 0 = adaptive */
  int NewCircuitPeriod;         /**< seconds */
  int MaxCircuitDirtiness;      /**< seconds */
  char **LongLivedPorts;
  int FetchDirInfoEarly;
  int FetchDirInfoExtraEarly;
  int ClientUseIPv4;
  int ClientUseIPv6;
  int ClientPreferIPv6ORPort;   /**< AUTOBOOL */
  int ConfluxEnabled;           /**< AUTOBOOL */
  int VanguardsLiteEnabled;     /**< AUTOBOOL (auto = 1) */
  /* --- Relay --- */
  config_line_t *ORPort;
  config_line_t *DirPort;
  config_line_t *Address;
  int AddressDisableIPv6;
  char *Nickname;
  char *ContactInfo;
  config_line_t *MyFamily;
  int ExitRelay;                /**< AUTOBOOL */
  config_line_t *ExitPolicy;
  int ExitPolicyRejectPrivate;
  int ExitPolicyRejectLocalInterfaces;
  int ReducedExitPolicy;
  int IPv6Exit;
  int AssumeReachable;
  int DirCache;
  int BridgeRelay;
  char **PublishServerDescriptor;
  /* --- Relay DoS defences (tor(1) DENIAL OF SERVICE MITIGATION OPTIONS;
   * AUTOBOOL -1 = auto, numbers 0 = use the consensus) --- */
  int DoSCircuitCreationEnabled;              /**< AUTOBOOL */
  int DoSCircuitCreationMinConnections;
  int DoSCircuitCreationRate;
  int DoSCircuitCreationBurst;
  int DoSCircuitCreationDefenseType;
  int DoSCircuitCreationDefenseTimePeriod;    /**< seconds */
  int DoSConnectionEnabled;                   /**< AUTOBOOL */
  int DoSConnectionMaxConcurrentCount;
  int DoSConnectionDefenseType;
  int DoSConnectionConnectRate;
  int DoSConnectionConnectBurst;
  int DoSConnectionConnectDefenseTimePeriod;  /**< seconds */
  int DoSStreamCreationEnabled;               /**< AUTOBOOL */
  int DoSStreamCreationRate;
  int DoSStreamCreationBurst;
  int DoSStreamCreationDefenseType;
  int DoSRefuseSingleHopClientRendezvous;     /**< AUTOBOOL */
  /* Exit resolver (ServerDNS*, options_exit_dns.h) */
  char *ServerDNSResolvConfFile;
  int ServerDNSSearchDomains;
  int ServerDNSDetectHijacking;
  char **ServerDNSTestAddresses;
  int ServerDNSAllowNonRFC953Hostnames;
  int ServerDNSRandomizeCase;
  /* --- Onion services (every HiddenService* line, in file order) --- */
  config_line_t *HiddenServiceOptions;
  int HiddenServiceSingleHopMode;     /**< single onion (with the next) */
  int HiddenServiceNonAnonymousMode;
  /* --- Not supported yet: refused unless default (options_table.c) --- */
  int UseBridges;
  config_line_t *Bridge;
  config_line_t *ClientTransportPlugin;
  char *Socks4Proxy;
  char *Socks5Proxy;
  char *Socks5ProxyUsername;
  char *Socks5ProxyPassword;
  char *HTTPSProxy;
  char *HTTPSProxyAuthenticator;
  char *HTTPProxy;
  char *HTTPProxyAuthenticator;
  char *TCPProxy;
  config_line_t *ReachableAddresses;
  config_line_t *ReachableORAddresses;
  config_line_t *ReachableDirAddresses;
  int FascistFirewall;
  config_line_t *OutboundBindAddress;
  config_line_t *OutboundBindAddressOR;
  config_line_t *OutboundBindAddressExit;
  char **MiddleNodes;
  config_line_t *NodeFamily;
  config_line_t *MapAddress;
  char **RejectPlaintextPorts;
  int DisableAllSwap;
  int LeaveStreamsUnattached;   /**< __LeaveStreamsUnattached */
} allium_options_t;

/** Which special command-line flags were given.  String fields point into
 * argv (not owned); NULL when absent. */
typedef struct cmdline_flags_t {
  int help;               /**< -h, --help */
  int version;            /**< --version */
  int verify_config;      /**< --verify-config */
  int list_options;       /**< --list-options, --list-torrc-options */
  int keygen;             /**< --keygen */
  int dump_config;        /**< --dump-config [short|full] */
  const char *dump_config_mode; /**< "short" (default) or "full" */
  int list_fingerprint;   /**< --list-fingerprint */
  const char *hash_password; /**< --hash-password PASSWORD: PASSWORD (may
                           *   be ""), NULL when absent */
  int ignore_missing_torrc; /**< --ignore-missing-torrc */
  int quiet;              /**< 1: --hush (console: warn and up), 2: --quiet
                           *   (console: nothing) */
  const char *torrc_file;   /**< -f FILE */
  const char *defaults_file; /**< --defaults-torrc FILE */
} cmdline_flags_t;

/** Default configuration file paths (overridable at build time). */
#ifndef ALLIUM_DEFAULT_TORRC
#define ALLIUM_DEFAULT_TORRC "/etc/allium/allium.conf"
#endif
#ifndef ALLIUM_DEFAULT_TORRC_DEFAULTS
#define ALLIUM_DEFAULT_TORRC_DEFAULTS "/etc/allium/allium.conf-defaults"
#endif

/** Parse argv, then (unless only --help, --version, --list-options or
 * --hash-password were asked for) read the defaults file, the torrc (-f FILE, or
 * ALLIUM_DEFAULT_TORRC) and the command-line options, in that order of
 * precedence, and validate the result.
 *   - flags (may be NULL) receives the special flags seen.
 *   - On success returns 0 and sets *out (caller frees with options_free);
 *     *out is NULL when --help/--version/--list-options/--hash-password
 *     made loading unnecessary.
 *   - On failure returns -1, *out NULL, *errmsg a one-line message (caller
 *     frees) such as "allium.conf:3: Option 'SocksPort': \"99999\" is not
 *     a port (expected 0-65535 or \"auto\")".
 * A missing -f file is an error unless --ignore-missing-torrc; a missing
 * default torrc or defaults file is not.  Logs one notice listing every
 * tor option used that allium accepts but ignores.  Safe to call again
 * with the same argv to reload (SIGHUP). */
int options_load(int argc, char **argv, allium_options_t **out, char **errmsg,
                 cmdline_flags_t *flags);

/** Like options_load, for torrc text only (with %include).  For tests and
 * fuzzing.  Same return/ownership contract. */
int options_load_from_string(const char *torrc_text, allium_options_t **out,
                             char **errmsg);

/** Check cross-option constraints.  0, or -1 with *errmsg (caller frees). */
int options_validate(const allium_options_t *o, char **errmsg);

/** New struct holding every default; caller frees. */
allium_options_t *options_new_default(void);

/** Free o and everything it owns (strings wiped).  NULL is fine. */
void options_free_(allium_options_t *o);
#define options_free(p) do { options_free_(p); (p) = NULL; } while (0)

/** --list-options: one line per option: name, type, default, doc. */
void options_print_list(FILE *f);

/** Torrc text of every option whose value differs from the default
 * (sensitive values hidden); caller frees. */
char *options_dump(const allium_options_t *o);
/** Torrc text of every option, default or not; caller frees. */
char *options_dump_full(const allium_options_t *o);

/** For each name in names (NULL-terminated; names that are not options
 * of the table are skipped): when newo's value differs from oldo's, give
 * newo oldo's value.  Returns the names that differed, as "A, B" (caller
 * frees), or NULL when none did.  For SIGHUP: options that need a
 * restart keep their running values. */
char *options_keep_values(allium_options_t *newo, const allium_options_t *oldo,
                          const char *const *names);

/** Does option name have the same value in a and b?  (1 also for a name
 * that is not in the table.) */
int options_same_value(const allium_options_t *a, const allium_options_t *b,
                       const char *name);

/* ---- the control port (control-spec 3.1-3.3, 3.9) ---- */

/** GETCONF: the canonical name of option key (*canon, static) and its
 * values as text, one per line of a list, none when unset (*vals:
 * al_malloc'd array of al_malloc'd strings, *n of them).  0, or -1 when
 * key is no option of the table. */
int options_get_strings(const allium_options_t *o, const char *key,
                        const char **canon, char ***vals, size_t *n);
/** SETCONF / RESETCONF: a validated copy of cur with the n changes
 * keys[i] = values[i] (NULL or "": back to the default; several values of
 * one list option make its new value).  0 with *out (caller frees), or -1
 * with *err (caller frees) and, when a key is no option, *bad_key (caller
 * frees). */
int options_with_changes(const allium_options_t *cur, const char *const *keys,
                         const char *const *values, size_t n,
                         allium_options_t **out, char **bad_key, char **err);
/** "config/names": "Name Type" lines (al_malloc'd). */
char *options_names_text(void);

/** The three kinds of option names (see the top of this file). */
typedef enum options_kind_t {
  OPTIONS_KIND_UNKNOWN = 0,     /**< not a tor 0.4.9 option: an error */
  OPTIONS_KIND_IMPLEMENTED,
  OPTIONS_KIND_HARMLESS,        /**< accepted with one notice */
  OPTIONS_KIND_REFUSED,         /**< an error unless left at its default */
} options_kind_t;

/** Kind of the option called name (case-insensitive, aliases resolved). */
options_kind_t options_kind(const char *name);

/** The option names tor knows and allium accepts but ignores
 * (NULL-terminated, generated from tor --list-torrc-options). */
extern const char *const options_tor_known[];
extern const size_t options_tor_known_count;

#endif
