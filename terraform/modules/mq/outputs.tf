output "broker_id" {
  description = "ID of the broker (used by `aws mq promote` during a regional failover)."
  value       = aws_mq_broker.this.id
}

output "broker_arn" {
  description = "ARN of the broker; the secondary region's replica takes the primary's."
  value       = aws_mq_broker.this.arn
}

output "stomp_endpoints" {
  description = "STOMP+TLS endpoints of the active and standby instances (LEDGER_STOMP_URL uses both for failover)."
  value       = [for i in aws_mq_broker.this.instances : [for e in i.endpoints : e if startswith(e, "stomp+ssl://")]]
}

output "security_group_id" {
  description = "Security group of the broker."
  value       = aws_security_group.this.id
}

output "credentials_secret_arn" {
  description = "Secrets Manager secret holding the STOMP user and password of the ledger roles."
  value       = aws_secretsmanager_secret.app.arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the broker storage and its credentials secret."
  value       = aws_kms_key.this.arn
}
