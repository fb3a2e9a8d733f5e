output "role_arns" {
  description = "IRSA role ARNs by key; put them in the chart's serviceAccount.annotations (eks.amazonaws.com/role-arn)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}
