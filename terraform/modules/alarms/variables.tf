variable "name" {
  type        = string
  description = "Name prefix of the alarms, the topic and the key (the env's name, e.g. ledger-use1)."
}

variable "db_cluster_identifier" {
  type        = string
  description = "This region's Aurora cluster (module database's cluster_identifier)."
}

variable "db_is_global_secondary" {
  type        = bool
  description = "True in the secondary region: alarm on the global database's replication lag."
  default     = false
}

variable "replica_lag_threshold_ms" {
  type        = number
  description = "Aurora replica lag (ms) above which the readers are reported stale."
  default     = 2000
}

variable "global_replication_lag_threshold_ms" {
  type        = number
  description = "Global database replication lag (ms) that raises the alarm; the RPO objective is 60 s."
  default     = 30000
}

variable "mq_broker_name" {
  type        = string
  description = "The Amazon MQ broker's name (module mq's broker name, the env's name)."
}

variable "mq_inbound_queue" {
  type        = string
  description = "The ingestion queue (LEDGER_STOMP_QUEUE)."
  default     = "/queue/ledger.transactions.in"
}

variable "mq_dead_letter_queue" {
  type        = string
  description = "The dead-letter queue (LEDGER_STOMP_DLQ)."
  default     = "/queue/ledger.transactions.dlq"
}

variable "mq_backlog_threshold" {
  type        = number
  description = "Messages waiting on the inbound queue for five minutes that raise the alarm."
  default     = 50000
}

variable "mq_usage_threshold_percent" {
  type        = number
  description = "Store or heap usage (%) of a broker instance that raises the alarm."
  default     = 80
}

variable "dx_connection_ids" {
  type        = map(string)
  description = "Direct Connect connections by name (module connectivity's dx_connection_ids)."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags of every resource."
  default     = {}
}
