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

export const SUPPORTED_SOURCE_MAJORS = { min: 10, max: 18 } as const;
export const SUPPORTED_TARGET_MAJORS = { min: 13, max: 18 } as const;

export function versionFromNum(num: number, text = ''): ServerVersion {
  // Before 10 the major version had two parts (90600 is 9.6).
  const major = num >= 100000 ? Math.floor(num / 10000) : Math.floor(num / 10000) + (Math.floor(num / 100) % 100) / 10;
  return { num, major, text: text || String(num) };
}

/** What a server of this major version can do, as used by pgshift. */
export interface Features {
  /**
   * CREATE PUBLICATION ... WITH (publish_via_partition_root); a partitioned
   * table may be listed in a publication at all (before 13: its leaves only)
   */
  publishViaPartitionRoot: boolean;
  /**
   * 11+: a publication carries TRUNCATE (pg_publication.pubtruncate) and a
   * subscriber applies it. A 10 publisher never sends it; a 10 subscriber
   * fails on the message, so a publication it subscribes to must leave it out.
   */
  replicatesTruncate: boolean;
  /** 11+: pg_index.indnkeyatts (INCLUDE columns); before, every index column is a key column */
  indexIncludeColumns: boolean;
  /** 12+: pg_stat_replication.reply_time (when the walsender last heard from its subscriber) */
  replicationReplyTime: boolean;
  /** 12+: pg_partition_tree(), pg_partition_root() */
  partitionTreeFunctions: boolean;
  /** 12+: pg_attribute.attgenerated (stored generated columns) */
  generatedColumns: boolean;
  /** before 12: tables WITH OIDS and the types abstime, reltime, tinterval */
  tableOidsAndOldTimeTypes: boolean;
  /** before 14: postfix operators (and the built-in factorial ! and !!) */
  postfixOperators: boolean;
  /** 11+: hashtextextended() (verify's row hash) */
  hashTextExtended: boolean;
  /** 11+: the jit setting */
  jit: boolean;
  /**
   * 12+: with extra_float_digits > 0, float4/float8 print the shortest text
   * that reads back exactly (before: %.17g, so 0.1 printed 0.10000000000000001)
   */
  shortestFloatText: boolean;
  /** 11+: indexes and primary keys on partitioned tables, DEFAULT partitions, UPDATEs that move rows between partitions */
  partitionedIndexes: boolean;
  /** 11+: CREATE TRIGGER ... EXECUTE FUNCTION (EXECUTE PROCEDURE before) */
  executeFunctionSyntax: boolean;
  /** pg_replication_slots.wal_status, safe_wal_size; max_slot_wal_keep_size */
  slotWalStatus: boolean;
  /** pg_replication_slot_advance() */
  slotAdvance: boolean;
  /** pg_stat_progress_copy */
  progressCopy: boolean;
  /** subscription option streaming = on */
  subscriptionStreaming: boolean;
  /** subscription option streaming = parallel */
  subscriptionStreamingParallel: boolean;
  /** subscription option binary */
  subscriptionBinary: boolean;
  /**
   * 16+: a binary subscription copies its tables in binary too, which fails
   * on a type without binary send/receive (before, only changes travelled in
   * binary, and such types as text)
   */
  binaryInitialSync: boolean;
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
  /** per-column compression (SET COMPRESSION, lz4); pg_attribute.attcompression */
  columnCompression: boolean;
  /** an inheritance child or partition may not generate a column its parent does not */
  childGenerationMustMatchParent: boolean;
  /**
   * 18+: VACUUM / ANALYZE ONLY t. From 18 an inheritance parent's ANALYZE also
   * processes its children unless ONLY is given; a partitioned table's always
   * recursed into its partitions, and only ONLY (18+) stops that.
   */
  analyzeOnly: boolean;
}

export function featuresOf(v: ServerVersion | number): Features {
  const major = typeof v === 'number' ? v : v.major;
  return {
    publishViaPartitionRoot: major >= 13,
    replicatesTruncate: major >= 11,
    indexIncludeColumns: major >= 11,
    replicationReplyTime: major >= 12,
    partitionTreeFunctions: major >= 12,
    generatedColumns: major >= 12,
    tableOidsAndOldTimeTypes: major < 12,
    postfixOperators: major < 14,
    hashTextExtended: major >= 11,
    jit: major >= 11,
    shortestFloatText: major >= 12,
    partitionedIndexes: major >= 11,
    executeFunctionSyntax: major >= 11,
    slotWalStatus: major >= 13,
    slotAdvance: major >= 11,
    progressCopy: major >= 14,
    subscriptionStreaming: major >= 14,
    subscriptionStreamingParallel: major >= 16,
    subscriptionBinary: major >= 14,
    binaryInitialSync: major >= 16,
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
    columnCompression: major >= 14,
    childGenerationMustMatchParent: major >= 16,
    analyzeOnly: major >= 18,
  };
}

export function isSupportedSource(major: number): boolean {
  return major >= SUPPORTED_SOURCE_MAJORS.min && major <= SUPPORTED_SOURCE_MAJORS.max;
}

export function isSupportedTarget(major: number): boolean {
  return major >= SUPPORTED_TARGET_MAJORS.min && major <= SUPPORTED_TARGET_MAJORS.max;
}

