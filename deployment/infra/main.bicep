// The escalation bot on Azure: a Linux Web App (Python 3.11, gunicorn's aiohttp worker), its
// user-assigned managed identity (which is also the bot's identity: no password anywhere), an
// Azure Bot with the Teams channel, a storage account with the app's tables, and Application
// Insights on a Log Analytics workspace. Deploy to a resource group in the region the board's
// data must stay in (uksouth): everything but the Azure Bot's registration is created there.
//   az deployment group create -g RG -f main.bicep -p resourceBaseName=... (every parameter
//   without a default; deployment/README.md gives the command)
// Each deployment sets every app setting from these parameters and replaces any changed by hand.

targetScope = 'resourceGroup'

@description('Prefix for every resource name: letters and digits, 3 to 20 (e.g. rsabbot).')
@minLength(3)
@maxLength(20)
param resourceBaseName string

@description('Region for everything except the bot registration (which is global): the app, its tables, its logs. For UK data residency, a UK region (uksouth).')
param location string = resourceGroup().location

@description('Signs the links to board reports (REPORT_LINK_SECRET), at least 32 characters. Keep the same value at every deployment (env/.env.dev.user, or the board\'s own safe): a new one ends every report link already sent.')
@secure()
@minLength(32)
param reportLinkSecret string

@description('The client id of the tabs\' Microsoft Entra app registration (TAB_APP_ID): Teams asks it for a token when "My cases" or the board\'s figures open. Its API is api://<the Web App\'s host name>/<this id> (output TAB_APP_ID_URI) with the scope access_as_user, and the Teams, Microsoft 365 and Outlook clients pre-authorised for it: aadApp/update sets them from ../aad.manifest.json; by hand, deployment/README.md section 3a.')
@minLength(36)
@maxLength(36)
param tabAppId string

@description('The Microsoft Entra tenant ids of the board\'s partner agencies, comma-separated (ALLOWED_TENANTS).')
@minLength(1)
param allowedTenants string

@description('Board ids of the policy packs to run, comma-separated (ESCALATION_POLICIES); empty: every pack shipped.')
param escalationPolicies string = ''

@description('The object id of the Microsoft Entra group of the board\'s administrators: it gets Storage Table Data Contributor on the storage account, so they can import the directory and run backups and restores signed in with the Azure CLI.')
@minLength(36)
@maxLength(36)
param adminGroupObjectId string

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

@description('How many instances of the Web App: at most 3 on B1-B3, 10 on S1-S3 and 30 on P0v3-P2v3 (a larger number is refused). Several instances share the work safely (see deployment/README.md).')
@minValue(1)
@maxValue(30)
param instanceCount int = 1

@description('Azure Bot pricing tier. F0 is free; S1 for more than 10,000 premium-channel messages a month (Teams is a standard channel).')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('The bot\'s name in the Azure portal.')
param botDisplayName string = 'Safeguarding Adults Board escalation'

@description('The bot\'s identity. UserAssignedMSI (the default): the managed identity, with no password. SingleTenant: an Entra app registration of the board\'s own (botAppId, botAppPassword), for when partner tenants cannot reach a managed-identity bot (deployment/README.md, "One bot, several tenants"). MultiTenant: only for a registration that already is; Azure creates no new multi-tenant bots.')
@allowed([
  'UserAssignedMSI'
  'SingleTenant'
  'MultiTenant'
])
param botAppType string = 'UserAssignedMSI'

@description('With botAppType SingleTenant or MultiTenant: the app registration\'s client id (MicrosoftAppId).')
param botAppId string = ''

@description('With botAppType SingleTenant or MultiTenant: a client secret of that registration (MicrosoftAppPassword).')
@secure()
param botAppPassword string = ''

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

// Web App, Azure Bot and storage account names must be unique across Azure: each takes a
// suffix of this resource group's own, as the Agents Toolkit's templates do.
var suffix = uniqueString(resourceGroup().id, resourceBaseName)
var storageAccountName = toLower('st${take(replace(resourceBaseName, '-', ''), 9)}${suffix}')
var webAppName = '${resourceBaseName}-${suffix}'
var botName = '${resourceBaseName}-bot-${suffix}'
// The most instances each App Service plan size allows.
var maxInstances = {
  B1: 3
  B2: 3
  B3: 3
  S1: 10
  S2: 10
  S3: 10
  P0v3: 30
  P1v3: 30
  P2v3: 30
}
var capacity = (instanceCount <= maxInstances[appServiceSku]) ? instanceCount : fail('instanceCount ${instanceCount} is more than a ${appServiceSku} plan allows (${maxInstances[appServiceSku]}): choose a larger appServiceSku or fewer instances.')
// The Agents Toolkit passes a parameter on as its placeholder's text when its variable is empty.
var tenants = (contains(allowedTenants, '{{') || empty(trim(replace(allowedTenants, ',', '')))) ? fail('allowedTenants has no tenant ids: set ALLOWED_TENANTS in deployment/env/.env.<environment>.') : allowedTenants
var policies = contains(escalationPolicies, '{{') ? fail('escalationPolicies holds a placeholder: set ESCALATION_POLICIES in deployment/env/.env.<environment>.') : escalationPolicies
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
// gunicorn's worker timeout and App Service's start-up limit are the toolkit templates' 600 s: a
// first start waits up to 300 s (STORAGE_START_WAIT_SECONDS) for the new table role to spread.
var startupCommand = 'gunicorn --bind 0.0.0.0:8000 --worker-class aiohttp.GunicornUVLoopWebWorker --workers 2 --timeout 600 \'app:create_app()\''
var useKey = storageAuth == 'connectionString'
var managedBotIdentity = botAppType == 'UserAssignedMSI'
var registeredBotId = (managedBotIdentity || length(botAppId) == 36) ? botAppId : fail('botAppType ${botAppType} needs botAppId, the app registration\'s client id.')
var registeredBotPassword = (managedBotIdentity || !empty(botAppPassword)) ? botAppPassword : fail('botAppType ${botAppType} needs botAppPassword, a client secret of the app registration.')

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

// The administrators' own access, for `escalation directory import`, `backup` and `restore` run
// with STORAGE_CREDENTIAL=azure-cli: with shared keys off, no key can do it for them.
resource adminTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, adminGroupObjectId, tableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: adminGroupObjectId
    principalType: 'Group'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${resourceBaseName}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: appServiceSku
    capacity: capacity
  }
  properties: {
    reserved: true
  }
}

// The bot's app id: the managed identity's client id, or the board's app registration's.
var botId = managedBotIdentity ? identity.properties.clientId : registeredBotId

var baseSettings = [
  {
    name: 'MicrosoftAppType'
    value: botAppType
  }
  {
    name: 'MicrosoftAppId'
    value: botId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: identity.properties.tenantId
  }
  {
    name: 'ALLOWED_TENANTS'
    value: tenants
  }
  {
    name: 'ESCALATION_POLICIES'
    value: policies
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
    // The tabs accept Teams' tokens for this registration's API only (tabs/auth.py).
    name: 'TAB_APP_ID'
    value: tabAppId
  }
  {
    name: 'SCM_DO_BUILD_DURING_DEPLOYMENT'
    value: 'true'
  }
  {
    // How long App Service lets the app start, as the toolkit's templates give it.
    name: 'WEBSITES_CONTAINER_START_TIME_LIMIT'
    value: '600'
  }
  {
    // How long start-up waits for storage to answer (the table role takes minutes to spread).
    name: 'STORAGE_START_WAIT_SECONDS'
    value: '300'
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
var passwordSettings = managedBotIdentity ? [] : [ { name: 'MicrosoftAppPassword', value: registeredBotPassword } ]

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
      appSettings: concat(baseSettings, keySettings, passwordSettings)
    }
  }
  dependsOn: [
    tables
    tableDataContributor
  ]
}

// The registration is global: Azure Bot Service offers a regional (Europe, westeurope) or
// India one, but no UK one (deployment/README.md, "Where the data lives").
resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  // The managed identity's resource id only when it is the bot, as the toolkit's templates do.
  properties: union({
    displayName: botDisplayName
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    msaAppId: botId
    msaAppTenantId: identity.properties.tenantId
    msaAppType: botAppType
  }, managedBotIdentity ? { msaAppMSIResourceId: identity.id } : {})
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

@description('The bot\'s app id (the Teams app package\'s bot id): the managed identity\'s client id, or the app registration\'s.')
output BOT_ID string = botId

@description('The Entra tenant of the bot\'s identity.')
output BOT_TENANT_ID string = identity.properties.tenantId

@description('The Web App\'s host name (the app package\'s valid domain).')
output BOT_DOMAIN string = webApp.properties.defaultHostName

@description('The messaging endpoint the Azure Bot calls.')
output BOT_ENDPOINT string = bot.properties.endpoint

@description('The tabs\' Application ID URI, for their app registration (webApplicationInfo.resource in the Teams app package).')
output TAB_APP_ID_URI string = 'api://${webApp.properties.defaultHostName}/${tabAppId}'

@description('The Web App\'s resource id, for zip deploy.')
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = webApp.id

@description('The Web App\'s name, for az webapp deploy.')
output WEB_APP_NAME string = webApp.name

@description('The storage account\'s name.')
output STORAGE_ACCOUNT_NAME string = storage.name

@description('The table endpoint, for the administrators\' commands (STORAGE_TABLE_ENDPOINT with STORAGE_CREDENTIAL=azure-cli).')
output STORAGE_TABLE_ENDPOINT string = storage.properties.primaryEndpoints.table

@description('The Azure Bot\'s resource name.')
output BOT_NAME string = bot.name
