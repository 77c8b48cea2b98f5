using System;
using System.Linq;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Infrastructure;
using HexCost.Model;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets Hex projects, with their schedules and analytics.</para>
    /// <para type="description">Without -ProjectId, pages through every project (cursor pagination) and writes each as it arrives.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexProject", DefaultParameterSetName = "List")]
    [OutputType(typeof(HexProject))]
    public sealed class GetHexProjectCommand : HexSessionCmdlet
    {
        private const int PageSize = 100;

        /// <summary>Ids of the projects to get.</summary>
        [Parameter(ParameterSetName = "ById", Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string[]? ProjectId { get; set; }

        /// <summary>Also list archived projects.</summary>
        [Parameter(ParameterSetName = "List")]
        public SwitchParameter IncludeArchived { get; set; }

        /// <summary>Also list trashed projects.</summary>
        [Parameter(ParameterSetName = "List")]
        public SwitchParameter IncludeTrashed { get; set; }

        /// <summary>Also list components (reusable cells), which Hex leaves out by default.</summary>
        [Parameter(ParameterSetName = "List")]
        public SwitchParameter IncludeComponents { get; set; }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == "ById")
            {
                foreach (var given in ProjectId!)
                {
                    string id;
                    try
                    {
                        id = HexIds.ProjectId(given);
                    }
                    catch (HexException error)
                    {
                        WriteHexError(error, given);
                        continue;
                    }
                    if (TryAwait(Account.Client.GetProjectAsync(id, EventSink, StopToken), id, out var resource))
                    {
                        Account.ProjectNames.Remember(resource.Id, resource.Title);
                        WriteTypedObject(new HexProject(resource), "HexCost.Project");
                    }
                }
                return;
            }

            string? after = null;
            var page = 0;
            var count = 0;
            do
            {
                page++;
                EventSink.Progress(new HexProgress(ProgressIds.Paging, "Listing Hex projects", $"Page {page} ({count} projects so far)"));
                if (!TryAwait(Account.Client.ListProjectsAsync(PageSize, after, IncludeArchived, IncludeTrashed, IncludeComponents, EventSink, StopToken), null, out var result)) break;
                foreach (var resource in (result.Values ?? new System.Collections.Generic.List<ProjectResource>()).Where(r => r != null))
                {
                    count++;
                    Account.ProjectNames.Remember(resource.Id, resource.Title);
                    WriteTypedObject(new HexProject(resource), "HexCost.Project");
                }
                after = result.Pagination?.After;
            }
            while (!string.IsNullOrEmpty(after));
            EventSink.Progress(new HexProgress(ProgressIds.Paging, "Listing Hex projects", $"{count} projects", completed: true));
            DrainEvents();
        }
    }
}
