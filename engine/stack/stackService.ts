/** What `city-ops stack status` reports for one service. */
export interface ServiceStatus {
  readonly name: string;
  /** Whether a process started by our stack (PID file) is running. */
  readonly ours: boolean;
  readonly pid: number | undefined;
  readonly healthy: boolean;
  readonly version: string | undefined;
  /** Where it listens, e.g. `http://127.0.0.1:8123`. */
  readonly listen: string;
  readonly detail: string | undefined;
}

/** One service of the local stack (ClickHouse, Kafka): started, checked and stopped by the stack. */
export interface StackService {
  readonly name: string;
  status(): Promise<ServiceStatus>;
  /** Installs what is missing, starts the process and resolves once it is healthy. */
  start(log: (line: string) => void): Promise<void>;
  /** Stops the process we started (PID file); resolves false when none of ours was running. */
  stop(): Promise<boolean>;
}
