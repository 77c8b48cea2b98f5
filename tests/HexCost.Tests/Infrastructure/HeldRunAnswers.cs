using System;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>Holds the emulator's answers to RunProject until <see cref="Release"/> (for ever, if never released): each
    /// run exists in Hex while its caller still waits for the answer. Give <see cref="Hold"/> as
    /// <c>EmulatorOptions.HoldRunProjectAnswer</c>.</summary>
    internal sealed class HeldRunAnswers
    {
        private readonly TaskCompletionSource _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly bool _oneProject;
        private string? _project;

        /// <summary>Holds the answers of every project.</summary>
        public HeldRunAnswers()
        {
        }

        private HeldRunAnswers(bool oneProject) => _oneProject = oneProject;

        /// <summary>Holds only the answers of <see cref="Project"/> (none until it is set).</summary>
        public static HeldRunAnswers OfOneProject() => new HeldRunAnswers(oneProject: true);

        /// <summary>The project whose answers are held (<see cref="OfOneProject"/>).</summary>
        public string? Project
        {
            get => Volatile.Read(ref _project);
            set => Volatile.Write(ref _project, value);
        }

        /// <summary>Completes when the first answer is held (a run was created).</summary>
        public Task Held => _held.Task;

        public Task Hold(EmulatorRequest request, CancellationToken cancellationToken)
        {
            if (_oneProject && !string.Equals(request.ProjectId, Project, StringComparison.OrdinalIgnoreCase)) return Task.CompletedTask;
            _held.TrySetResult();
            return _release.Task.WaitAsync(cancellationToken);
        }

        /// <summary>Lets every held answer (and every later one) go.</summary>
        public void Release() => _release.TrySetResult();
    }
}
