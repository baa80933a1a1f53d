// Server versions and the features that depend on them. Every
// version-dependent choice in pgshift asks this module; nothing else compares
// version numbers.

export interface ServerVersion {
  /** server_version_num, e.g. 170002 */
  num: number;
  major: number;
  /** server_version, e.g. "17.2 (Debian 17.2-1)" */
  text: string;
}

export const SUPPORTED_SOURCE_MAJORS = { min: 12, max: 17 } as const;
export const SUPPORTED_TARGET_MAJORS = { min: 13, max: 18 } as const;

export function versionFromNum(num: number, text = ''): ServerVersion {
  // Before 10 the major version had two parts (90600 is 9.6).
  const major = num >= 100000 ? Math.floor(num / 10000) : Math.floor(num / 10000) + (Math.floor(num / 100) % 100) / 10;
  return { num, major, text: text || String(num) };
}

/** What a server of this major version can do, as used by pgshift. */
export interface Features {
  /** CREATE PUBLICATION ... WITH (publish_via_partition_root) */
  publishViaPartitionRoot: boolean;
  /** pg_replication_slots.wal_status, safe_wal_size; max_slot_wal_keep_size */
  slotWalStatus: boolean;
  /** pg_stat_progress_copy */
  progressCopy: boolean;
  /** subscription option streaming = on */
  subscriptionStreaming: boolean;
  /** subscription option streaming = parallel */
  subscriptionStreamingParallel: boolean;
  /** subscription option binary */
  subscriptionBinary: boolean;
  /** subscription option disable_on_error; pg_stat_subscription_stats */
  disableOnError: boolean;
  subscriptionStats: boolean;
  /** subscription option origin = none */
  originNone: boolean;
  /** subscription option password_required, run_as_owner */
  passwordRequiredOption: boolean;
  /** pg_stat_replication_slots */
  statReplicationSlots: boolean;
  /** publications FOR TABLES IN SCHEMA, row filters, column lists */
  publicationSchemas: boolean;
  /** a publication's table with a column list, FOR TABLE t (a, b) (publisher 15+) */
  publicationColumnLists: boolean;
  /** pg_database_owner, pg_create_subscription predefined roles */
  predefinedCreateSubscription: boolean;
  /** pg_read_all_data */
  readAllData: boolean;
  /** max_active_replication_origins limits replication origins (before 18: max_replication_slots) */
  activeReplicationOrigins: boolean;
  /** GRANT role ... WITH INHERIT / SET options; pg_auth_members.inherit_option, set_option */
  grantRoleOptions: boolean;
  /** TID range scans: a ctid >= ... AND ctid < ... condition reads only those pages */
  tidRangeScan: boolean;
  /** GRANT SET ON PARAMETER; has_parameter_privilege() */
  grantSetParameter: boolean;
  /** createrole_self_grant: a CREATEROLE role may take SET/INHERIT on the roles it creates */
  createroleSelfGrant: boolean;
}

export function featuresOf(v: ServerVersion | number): Features {
  const major = typeof v === 'number' ? v : v.major;
  return {
    publishViaPartitionRoot: major >= 13,
    slotWalStatus: major >= 13,
    progressCopy: major >= 14,
    subscriptionStreaming: major >= 14,
    subscriptionStreamingParallel: major >= 16,
    subscriptionBinary: major >= 14,
    disableOnError: major >= 15,
    subscriptionStats: major >= 15,
    originNone: major >= 16,
    passwordRequiredOption: major >= 16,
    statReplicationSlots: major >= 14,
    publicationSchemas: major >= 15,
    publicationColumnLists: major >= 15,
    predefinedCreateSubscription: major >= 16,
    readAllData: major >= 14,
    activeReplicationOrigins: major >= 18,
    grantRoleOptions: major >= 16,
    tidRangeScan: major >= 14,
    grantSetParameter: major >= 15,
    createroleSelfGrant: major >= 16,
  };
}

export function isSupportedSource(major: number): boolean {
  return major >= SUPPORTED_SOURCE_MAJORS.min && major <= SUPPORTED_SOURCE_MAJORS.max;
}

export function isSupportedTarget(major: number): boolean {
  return major >= SUPPORTED_TARGET_MAJORS.min && major <= SUPPORTED_TARGET_MAJORS.max;
}
