// The escalation bot on Azure: a Linux Web App (Python 3.11, gunicorn's aiohttp worker), its
// user-assigned managed identity (which is also the bot's identity: no password anywhere), an
// Azure Bot with the Teams channel, a storage account with the app's tables, and Application
// Insights on a Log Analytics workspace. Deploy to a resource group:
//   az deployment group create -g RG -f main.bicep -p main.parameters.json -p resourceBaseName=...
// See deployment/README.md.

targetScope = 'resourceGroup'

@description('Prefix for every resource name: letters and digits, 3 to 20 (e.g. rsabbot).')
@minLength(3)
@maxLength(20)
param resourceBaseName string

@description('Region for everything except the bot registration (which is global).')
param location string = resourceGroup().location

@description('Signs the links to board reports (REPORT_LINK_SECRET). A new one at each deployment unless given: links made before it stop working.')
@secure()
param reportLinkSecret string = newGuid()

@description('The Microsoft Entra tenant ids of the board\'s partner agencies, comma-separated (ALLOWED_TENANTS).')
@minLength(1)
param allowedTenants string

@description('Board ids of the policy packs to run, comma-separated (ESCALATION_POLICIES); empty: every pack shipped.')
param escalationPolicies string = ''

@description('Prefix for the table names (ESCALATION_TABLE_PREFIX): letters and digits, may be empty.')
@maxLength(21)
param tablePrefix string = ''

@description('App Service plan size. B1 or larger: the app needs Always On for its scheduler.')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'S2'
  'S3'
  'P0v3'
  'P1v3'
  'P2v3'
])
param appServiceSku string = 'B1'

@description('How many instances of the Web App. Several instances share the work safely (see deployment/README.md).')
@minValue(1)
@maxValue(10)
param instanceCount int = 1

@description('Azure Bot pricing tier. F0 is free; S1 for more than 10,000 premium-channel messages a month (Teams is a standard channel).')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('The bot\'s name in the Azure portal.')
param botDisplayName string = 'Safeguarding Adults Board escalation'

@description('How the app reaches its tables. managedIdentity: the app\'s identity with STORAGE_TABLE_ENDPOINT and AZURE_CLIENT_ID, no key anywhere (shared-key access off). connectionString: the account key in STORAGE_CONNECTION_STRING.')
@allowed([
  'connectionString'
  'managedIdentity'
])
param storageAuth string = 'managedIdentity'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

var suffix = uniqueString(resourceGroup().id, resourceBaseName)
var storageAccountName = toLower('st${take(replace(resourceBaseName, '-', ''), 9)}${suffix}')
var webAppName = '${resourceBaseName}-${suffix}'
// The tables the app opens (storage/cases.py TableNames; storage/KEYS.md).
var tableNames = [
  'Cases'
  'CaseIndex'
  'PersonCases'
  'DueIndex'
  'OutboxPending'
  'Directory'
  'Conversations'
  'botstate'
  'Leases'
  'CaseAccess'
]
// Built-in role: Storage Table Data Contributor.
var tableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var startupCommand = 'gunicorn --bind 0.0.0.0:8000 --worker-class aiohttp.GunicornWebWorker --workers 2 \'app:create_app()\''
var useKey = storageAuth == 'connectionString'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-identity'
  location: location
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${resourceBaseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${resourceBaseName}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: useKey
    defaultToOAuthAuthentication: !useKey
    publicNetworkAccess: 'Enabled'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in tableNames: {
    parent: tableService
    name: '${tablePrefix}${table}'
  }
]

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, tableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${resourceBaseName}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: appServiceSku
    capacity: instanceCount
  }
  properties: {
    reserved: true
  }
}

var baseSettings = [
  {
    name: 'MicrosoftAppType'
    value: 'UserAssignedMSI'
  }
  {
    name: 'MicrosoftAppId'
    value: identity.properties.clientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: identity.properties.tenantId
  }
  {
    name: 'ALLOWED_TENANTS'
    value: allowedTenants
  }
  {
    name: 'ESCALATION_POLICIES'
    value: escalationPolicies
  }
  {
    name: 'ESCALATION_TABLE_PREFIX'
    value: tablePrefix
  }
  {
    // For a managed-identity table client (azure.identity's ManagedIdentityCredential).
    name: 'STORAGE_TABLE_ENDPOINT'
    value: storage.properties.primaryEndpoints.table
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: insights.properties.ConnectionString
  }
  {
    // Board roles' report links point here (the web app's own name: no cycle through its properties).
    name: 'PUBLIC_BASE_URL'
    value: 'https://${webAppName}.azurewebsites.net'
  }
  {
    // Signs the report links, so every instance accepts the links any instance made.
    name: 'REPORT_LINK_SECRET'
    value: reportLinkSecret
  }
  {
    name: 'SCM_DO_BUILD_DURING_DEPLOYMENT'
    value: 'true'
  }
  {
    name: 'HOST'
    value: '0.0.0.0'
  }
  {
    name: 'PORT'
    value: '8000'
  }
  {
    name: 'WEBSITES_PORT'
    value: '8000'
  }
]
var connectionString = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
var keySettings = useKey ? [ { name: 'STORAGE_CONNECTION_STRING', value: connectionString } ] : []

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appCommandLine: startupCommand
      alwaysOn: true
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      http20Enabled: true
      healthCheckPath: '/healthz'
      appSettings: concat(baseSettings, keySettings)
    }
  }
  dependsOn: [
    tables
    tableDataContributor
  ]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: resourceBaseName
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppTenantId: identity.properties.tenantId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: identity.id
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

@description('The bot\'s app id: the managed identity\'s client id (the Teams app package\'s bot id).')
output BOT_ID string = identity.properties.clientId

@description('The Entra tenant of the bot\'s identity.')
output BOT_TENANT_ID string = identity.properties.tenantId

@description('The Web App\'s host name (the app package\'s valid domain).')
output BOT_DOMAIN string = webApp.properties.defaultHostName

@description('The messaging endpoint the Azure Bot calls.')
output BOT_ENDPOINT string = bot.properties.endpoint

@description('The Web App\'s resource id, for zip deploy.')
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = webApp.id

@description('The Web App\'s name, for az webapp deploy.')
output WEB_APP_NAME string = webApp.name

@description('The storage account\'s name.')
output STORAGE_ACCOUNT_NAME string = storage.name

@description('The Teams app id: the same GUID as the bot id (deployment/appPackage/manifest.json uses BOT_ID for both), so the Agents Toolkit\'s teamsApp/create registers the app under that id.')
output TEAMS_APP_ID string = identity.properties.clientId
