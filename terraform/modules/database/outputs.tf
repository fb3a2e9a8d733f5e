output "global_cluster_identifier" {
  description = "Identifier of the Aurora global database."
  value       = var.global_cluster_identifier
}

output "cluster_identifier" {
  description = "Identifier of this region's cluster (the target of `aws rds failover-global-cluster`)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "ARN of this region's cluster."
  value       = aws_rds_cluster.this.arn
}

output "writer_endpoint" {
  description = "Cluster (writer) endpoint; in the secondary region it accepts writes only after a failover."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint of this region's cluster."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_rds_cluster.this.port
}

output "security_group_id" {
  description = "Security group of the cluster."
  value       = aws_security_group.this.id
}

output "admin_secret_arn" {
  description = "Secrets Manager secret of the administrator (primary region only; null in the secondary)."
  value       = local.is_primary ? aws_secretsmanager_secret.master[0].arn : null
}

output "kms_key_arn" {
  description = "KMS key encrypting this region's cluster."
  value       = aws_kms_key.this.arn
}

output "cluster_resource_id" {
  description = "Resource ID of this region's cluster, for rds-db:connect ARNs of IAM database users."
  value       = aws_rds_cluster.this.cluster_resource_id
}

output "backup_vault_arn" {
  description = "AWS Backup vault of this region (the other region's backup_copy_vault_arn)."
  value       = aws_backup_vault.this.arn
}
