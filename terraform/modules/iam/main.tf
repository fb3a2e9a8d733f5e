# IAM roles for the ledger's Kubernetes service accounts (IRSA). Each role is assumable only by
# the web identity of one service account in one namespace of this region's cluster, and grants
# least privilege: read named secrets, decrypt them through Secrets Manager, connect to named
# Aurora IAM users.

data "aws_region" "current" {}

locals {
  tags        = merge(var.tags, { "module" = "iam" })
  issuer_host = trimprefix(var.oidc_issuer_url, "https://")

  managed_attachments = merge([
    for key, sa in var.service_accounts : {
      for arn in sa.managed_policy_arns : "${key}|${arn}" => { role = key, arn = arn }
    }
  ]...)
}

data "aws_iam_policy_document" "assume" {
  for_each = var.service_accounts

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.service_accounts

  name                 = "${var.name}-${each.key}"
  description          = "IRSA role of ${each.value.namespace}/${each.value.service_account}"
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = 3600

  tags = local.tags
}

data "aws_iam_policy_document" "permissions" {
  for_each = {
    for key, sa in var.service_accounts : key => sa
    if length(sa.secret_arns) + length(sa.kms_key_arns) + length(sa.rds_connect_arns) > 0
  }

  dynamic "statement" {
    for_each = length(each.value.secret_arns) > 0 ? [1] : []

    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = each.value.secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(each.value.kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "DecryptSecretsViaSecretsManager"
      actions   = ["kms:Decrypt"]
      resources = each.value.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(each.value.rds_connect_arns) > 0 ? [1] : []

    content {
      sid       = "ConnectToAurora"
      actions   = ["rds-db:connect"]
      resources = each.value.rds_connect_arns
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = data.aws_iam_policy_document.permissions

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.json
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = local.managed_attachments

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.arn
}
